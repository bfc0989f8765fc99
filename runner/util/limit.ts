/** A concurrency limiter. */

export type Limiter = <T>(fn: () => Promise<T>) => Promise<T>;

/** At most `max` of the functions passed to the limiter run at once; the others wait their turn, in order. */
export function limiter(max: number): Limiter {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    if (active >= max) await new Promise<void>((resolve) => queue.push(resolve)); // the finishing run hands its slot over
    else active++;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}
