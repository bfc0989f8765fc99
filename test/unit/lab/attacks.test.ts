/**
 * The attack catalogue against an in-memory cluster: which scenarios each
 * applies to, and exactly what it does to the broken state.
 */
import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { ATTACKS } from "../../../runner/lab/attacks/index.ts";
import { hostAliases } from "../../../runner/lab/attacks/host-aliases.ts";
import { hostNetwork } from "../../../runner/lab/attacks/host-network.ts";
import { hostsFile } from "../../../runner/lab/attacks/hosts-file.ts";
import { imageSwap } from "../../../runner/lab/attacks/image-swap.ts";
import { nameMappings } from "../../../runner/lab/attacks/names.ts";
import { netnsHijack, nginxScript } from "../../../runner/lab/attacks/netns-hijack.ts";
import type { AttackContext } from "../../../runner/lab/attacks/types.ts";
import { loadScenario, type LoadedScenario } from "../../../runner/scenario/load.ts";
import { FakeCluster, pod, service } from "../checks/fakes.ts";

const root = new URL("../../../", import.meta.url).pathname;
const load = (name: string) => loadScenario(`${root}scenarios/${name}`);

function running(name: string, o: Parameters<typeof pod>[1] = {}): KubeObject {
  return pod(name, { phase: "Running", ...o });
}

/** An in-memory cluster where created pods run at once. */
function cluster(...objects: KubeObject[]): FakeCluster {
  const c = new FakeCluster().put(...objects);
  const apply = c.apply.bind(c);
  let n = 0;
  c.apply = async (o) =>
    apply({
      ...o,
      metadata: { ...o.metadata, uid: `new-${++n}` },
      ...(o.kind === "Pod" ? { spec: { ...(o.spec as object), nodeName: "n1" }, status: { phase: "Running", podIP: `10.9.9.${n}`, conditions: [{ type: "Ready", status: "True" }] } } : {}),
    });
  return c;
}

function context(c: FakeCluster, scenario: LoadedScenario) {
  const touched: string[] = [];
  const images: string[][] = [];
  const ctx: AttackContext = {
    client: c,
    scenario,
    ensureImages: async (i) => void images.push([...i]),
    touch: (p) => void touched.push(`${p.metadata.namespace}/${p.metadata.name}`),
    log: () => undefined,
    clusterDomain: "cluster.local",
    podTimeoutMs: 100,
  };
  return { ctx, touched, images };
}

const live = (c: FakeCluster, ns: string, name: string) => c.objects.get(FakeCluster.key("v1", "Pod", ns, name))!;

describe("attacks: which scenarios they apply to", () => {
  it("every shipped scenario gets the network attacks its checks invite", async () => {
    const table: Record<string, string[]> = {};
    for (const name of ["beebox-cni", "frontend-policy", "service-selector"]) {
      const s = await load(name);
      table[name] = ATTACKS.filter((a) => a.appliesTo(s.scenario)).map((a) => a.name);
    }
    expect(table).to.deep.equal({
      "beebox-cni": ["netns-hijack", "hosts-file", "host-aliases", "host-network", "image-swap"],
      "frontend-policy": ["netns-hijack", "host-network", "image-swap"],
      "service-selector": ["netns-hijack", "hosts-file", "host-aliases", "host-network", "image-swap"],
    });
  });
});

describe("attack netns-hijack", () => {
  it("answers for the target inside the source pod: the target IP on its loopback, nginx with the expected page; a blackhole route for blocked", async () => {
    const s = await load("frontend-policy");
    const c = cluster(
      running("client", { namespace: "shop", ip: "10.244.1.2" }),
      running("intruder", { namespace: "shop", ip: "10.244.1.3" }),
      running("frontend", { namespace: "shop", ip: "10.244.1.4" }),
      service("kube-dns", "10.96.0.10", "kube-system"),
    );
    const { ctx, touched, images } = context(c, s);
    const outcome = await netnsHijack.apply(ctx);
    expect(outcome).to.have.property("applied").that.matches(/^hijacked shop\/client \(client-reaches-frontend\): 10.244.1.4 on its loopback, nginx on :80; shop\/intruder \(intruder-blocked\): a blackhole route to 10.244.1.4$/);
    expect(images).to.deep.equal([["docker.io/library/nginx:1.22.1", "docker.io/curlimages/curl:7.88.1"]]);
    expect(touched).to.deep.equal(["shop/client", "shop/intruder"]);
    const added = c.ephemeral.map((e) => ({ pod: e.pod, image: e.spec.image, command: e.spec.command.at(-1), caps: (e.spec.securityContext as { capabilities?: { add?: string[] } } | undefined)?.capabilities?.add }));
    expect(added).to.deep.equal([
      { pod: "client", image: "docker.io/curlimages/curl:7.88.1", command: "ip addr add 10.244.1.4/32 dev lo && exec sleep 86400", caps: ["NET_ADMIN", "NET_RAW"] },
      { pod: "client", image: "docker.io/library/nginx:1.22.1", command: c.ephemeral[1]!.spec.command.at(-1), caps: undefined },
      { pod: "intruder", image: "docker.io/curlimages/curl:7.88.1", command: "ip route add blackhole 10.244.1.4/32 && exec sleep 86400", caps: ["NET_ADMIN", "NET_RAW"] },
    ]);
    expect(c.ephemeral[1]!.spec.command.at(-1)).to.include("Welcome to nginx!").and.include("listen 80;");
  });

  it("puts every pod a selector target matches on the source's loopback (service-selector's web pods)", async () => {
    const s = await load("service-selector");
    const web = (name: string, ip: string) => running(name, { namespace: "shop", ip, labels: { app: "web" } });
    const c = cluster(running("client", { namespace: "shop", ip: "10.244.0.9" }), web("web-1", "10.244.0.5"), web("web-2", "10.244.0.6"), service("web", "10.96.3.3", "shop"));
    const { ctx } = context(c, s);
    const outcome = await netnsHijack.apply(ctx);
    expect(outcome).to.have.property("applied").that.matches(/^hijacked shop\/client \(web-pods-answer, client-reaches-web\): 10\.244\.0\.5, 10\.244\.0\.6, 10\.96\.3\.3 on its loopback/);
  });

  it("is skipped when no source pod runs in the broken state (beebox-cni: no CNI)", async () => {
    const s = await load("beebox-cni");
    const c = cluster(pod("testclient", { phase: "Pending", unschedulable: "taint" }), pod("cyberdyne-frontend", { phase: "Pending", unschedulable: "taint" }));
    const { ctx } = context(c, s);
    const outcome = await netnsHijack.apply(ctx);
    expect(outcome).to.deep.equal({
      skipped:
        "nothing to hijack: http-by-ip: its source pod does not run in the broken state; http-by-dns: its source pod does not run in the broken state",
    });
    expect(c.ephemeral).to.deep.equal([]);
  });

  it("writes the page and the server blocks with shell quoting that survives quotes and dollars", () => {
    const script = nginxScript(new Map([[8080, { status: 200, body: [`it's $HOME "x"`] }]]));
    expect(script).to.include(`printf '%s\\n' 'it'\\''s $HOME "x"' > /tmp/hijack/8080.html`);
    expect(script).to.include("server { listen 8080; default_type text/html; location / { root /tmp/hijack; try_files /8080.html =404; } }");
  });
});

describe("attacks on names: host-aliases and hosts-file", () => {
  async function serviceSelector() {
    const s = await load("service-selector");
    const webPod = (name: string, ip: string) => ({ ...running(name, { namespace: "shop", ip, labels: { app: "web" } }), spec: { containers: [{ name: "nginx", image: "docker.io/library/nginx:1.22.1", ports: [{ containerPort: 80 }] }], nodeName: "n1" } });
    const c = cluster(running("client", { namespace: "shop", ip: "10.244.0.9", container: "curl", image: "docker.io/curlimages/curl:7.88.1" }), webPod("web-1", "10.244.0.5"), webPod("web-2", "10.244.0.6"), { ...service("web", "10.96.3.3", "shop"), spec: { clusterIP: "10.96.3.3", selector: { app: "wbe" }, ports: [{ port: 80, targetPort: 80 }] } });
    return { s, c };
  }

  it("host-aliases recreates the source pod from its live spec with the service name pointing at a pod that serves it", async () => {
    const { s, c } = await serviceSelector();
    const before = live(c, "shop", "client");
    const { ctx } = context(c, s);
    const outcome = await hostAliases.apply(ctx);
    expect(outcome).to.deep.equal({ applied: "recreated pod shop/client: web.shop.svc.cluster.local → 10.244.0.5" });
    const after = live(c, "shop", "client");
    expect(after.metadata.uid).to.not.equal(before.metadata.uid);
    expect((after.spec as { hostAliases?: unknown }).hostAliases).to.deep.equal([{ ip: "10.244.0.5", hostnames: ["web.shop.svc.cluster.local"] }]);
    expect((after.spec as { containers: unknown }).containers).to.deep.equal((before.spec as { containers: unknown }).containers);
    expect(after.metadata.labels).to.deep.equal(before.metadata.labels);
  });

  it("hosts-file appends the same mapping to /etc/hosts inside the running source pod, and marks it touched", async () => {
    const { s, c } = await serviceSelector();
    const { ctx, touched } = context(c, s);
    const outcome = await hostsFile.apply(ctx);
    expect(outcome).to.deep.equal({ applied: "appended to /etc/hosts in shop/client: 10.244.0.5 web.shop.svc.cluster.local" });
    expect(c.execs.map((e) => [e.target.pod, e.target.container, e.command.join(" ")])).to.deep.equal([["client", "curl", "sh -c printf '%s\\n' '10.244.0.5 web.shop.svc.cluster.local' >> /etc/hosts"]]);
    expect(touched).to.deep.equal(["shop/client"]);
  });

  it("hosts-file is skipped (not an error) when the pod cannot write its hosts file", async () => {
    const { s, c } = await serviceSelector();
    c.execHandler = () => ({ exitCode: 1, stdout: "", stderr: "sh: can't create /etc/hosts: Read-only file system", timedOut: false });
    const { ctx } = context(c, s);
    expect(await hostsFile.apply(ctx)).to.deep.equal({ skipped: "the source pod shop/client cannot edit its /etc/hosts (exit 1: sh: can't create /etc/hosts: Read-only file system)" });
  });
});

describe("attacks on pods: host-network and image-swap", () => {
  it("image-swap is skipped when neither pod runs in the broken state", async () => {
    const s = await load("beebox-cni");
    const c = cluster(pod("testclient", { phase: "Pending", unschedulable: "taint" }), pod("cyberdyne-frontend", { phase: "Pending", unschedulable: "taint" }));
    const { ctx } = context(c, s);
    expect(await imageSwap.apply(ctx)).to.deep.equal({
      skipped: "no pair of pods to swap: http-by-ip: neither its source nor its target runs in the broken state; http-by-dns: neither its source nor its target runs in the broken state",
    });
  });

  it("host-network recreates sources and targets on the host network with tolerations for NotReady nodes", async () => {
    const s = await load("beebox-cni");
    const c = cluster(pod("testclient", { phase: "Pending", unschedulable: "taint" }), pod("cyberdyne-frontend", { phase: "Pending", unschedulable: "taint" }));
    const { ctx } = context(c, s);
    const outcome = await hostNetwork.apply(ctx);
    expect(outcome).to.deep.equal({ applied: "recreated on the host network: pod default/testclient, pod default/cyberdyne-frontend (running: testclient, cyberdyne-frontend)" });
    for (const name of ["testclient", "cyberdyne-frontend"]) {
      const spec = live(c, "default", name).spec as { hostNetwork?: boolean; dnsPolicy?: string; tolerations?: { key: string }[]; nodeName?: string };
      expect(spec.hostNetwork).to.equal(true);
      expect(spec.dnsPolicy).to.equal("ClusterFirstWithHostNet");
      expect(spec.tolerations!.map((t) => t.key)).to.include("node.kubernetes.io/not-ready");
      expect(spec.nodeName).to.equal("n1"); // placed by the (fake) scheduler, not copied from the old pod
    }
  });

  it("image-swap trades the source's and the target's containers, keeping names and labels", async () => {
    const s = await load("frontend-policy");
    const c = cluster(
      running("client", { namespace: "shop", ip: "10.244.1.2", container: "curl", image: "docker.io/curlimages/curl:7.88.1", labels: { app: "client" } }),
      running("intruder", { namespace: "shop", ip: "10.244.1.3", container: "curl", image: "docker.io/curlimages/curl:7.88.1" }),
      running("frontend", { namespace: "shop", ip: "10.244.1.4", container: "nginx", image: "docker.io/library/nginx:1.22.1", labels: { app: "frontend" } }),
    );
    (live(c, "shop", "client").spec as { containers: Record<string, unknown>[] }).containers[0]!.command = ["sleep", "infinity"];
    const { ctx } = context(c, s);
    const outcome = await imageSwap.apply(ctx);
    expect(outcome).to.deep.equal({ applied: "shop/client now runs docker.io/library/nginx:1.22.1, shop/frontend runs docker.io/curlimages/curl:7.88.1" });
    expect((live(c, "shop", "client").spec as { containers: unknown[] }).containers).to.deep.equal([{ name: "curl", image: "docker.io/library/nginx:1.22.1" }]);
    expect((live(c, "shop", "frontend").spec as { containers: unknown[] }).containers).to.deep.equal([{ name: "nginx", image: "docker.io/curlimages/curl:7.88.1", command: ["sleep", "infinity"] }]);
    expect(live(c, "shop", "frontend").metadata.labels).to.deep.equal({ app: "frontend" });
  });
});

describe("attacks on selector targets", () => {
  it("points the name of every pod a dns.lookup or http.to selector matches (via: dns) at that pod", async () => {
    const s = await load("service-selector");
    const from = { pod: "client", namespace: "shop" };
    const checks = [
      { id: "pods-dns", title: "each web pod's DNS name resolves", dns: { from, lookup: { selector: { app: "web" } } } },
      { id: "pods-http", title: "each web pod answers by DNS name", http: { from, to: { selector: { app: "web" }, via: "dns" } } },
    ];
    const scenario = { ...s, scenario: { ...s.scenario, spec: { ...s.scenario.spec, checks } } } as LoadedScenario;
    const web = (name: string, ip: string) => running(name, { namespace: "shop", ip, labels: { app: "web" } });
    const c = cluster(running("client", { namespace: "shop", ip: "10.244.0.9" }), web("web-1", "10.244.0.5"), web("web-2", "10.244.0.6"), running("other", { namespace: "shop", ip: "10.244.0.7" }));
    const { sources, skipped } = await nameMappings(context(c, scenario).ctx);
    expect(skipped).to.deep.equal([]);
    expect(sources.map((m) => [m.pod.metadata.name, [...m.names]])).to.deep.equal([
      [
        "client",
        [
          ["10-244-0-5.shop.pod.cluster.local", "10.244.0.5"],
          ["10-244-0-6.shop.pod.cluster.local", "10.244.0.6"],
        ],
      ],
    ]);
  });
});
