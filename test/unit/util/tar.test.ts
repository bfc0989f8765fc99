import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { TarPathError, writeTar } from "../../../runner/util/tar.ts";
import { untar } from "../../helpers/untar.ts";

describe("util/tar", () => {
  it("writes directories and files with modes, padded to 512-byte blocks and two zero blocks at the end", () => {
    const tar = writeTar([{ path: "usr/" }, { path: "usr/bin/x", data: Buffer.from("hello"), mode: 0o755 }, { path: "empty", data: new Uint8Array() }]);
    expect(tar.length % 512).to.equal(0);
    expect(tar.subarray(-1024).every((b) => b === 0)).to.equal(true);
    expect(untar(tar)).to.deep.equal([
      { path: "usr/", type: "dir", mode: 0o755, data: Buffer.alloc(0) },
      { path: "usr/bin/x", type: "file", mode: 0o755, data: Buffer.from("hello") },
      { path: "empty", type: "file", mode: 0o644, data: Buffer.alloc(0) },
    ]);
  });

  it("splits a path longer than 100 bytes into ustar's prefix and name", () => {
    const long = `${"a".repeat(60)}/${"b".repeat(60)}/file`;
    expect(untar(writeTar([{ path: long, data: Buffer.from("x") }]))[0]!.path).to.equal(long);
    expect(() => writeTar([{ path: "c".repeat(101), data: Buffer.from("x") }])).to.throw(TarPathError);
    expect(() => writeTar([{ path: "/abs", data: Buffer.from("x") }])).to.throw(TarPathError);
  });

  it("is deterministic and readable by the system tar", () => {
    const entries = [{ path: "d/" }, { path: "d/f.txt", data: Buffer.from("content\n") }];
    const tar = writeTar(entries);
    expect(writeTar(entries).equals(tar)).to.equal(true);
    const dir = mkdtempSync(path.join(tmpdir(), "labrun-tar-test-"));
    try {
      writeFileSync(path.join(dir, "a.tar"), tar);
      expect(execFileSync("tar", ["-tf", path.join(dir, "a.tar")], { encoding: "utf8" }).trim().split("\n")).to.deep.equal(["d/", "d/f.txt"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
