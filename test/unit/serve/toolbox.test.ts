/**
 * labrun's toolbox pod (checks/toolbox.ts, runner/serve/toolbox.ts): what it
 * is made of, that the exemption for it is the exact pod labrun makes (a
 * learner cannot hide a pod of their own behind its name, labels or
 * annotation), how a served lab gets it, and the TTY exec it is reached by
 * (runner/cluster/ws-terminal.ts) against a fake API server.
 */
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { Agent as HttpAgent } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { isLabrunToolboxPod, TOOLBOX_ADDONS_DIR, toolboxObjects, toolboxPod } from "../../../checks/toolbox.ts";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { TOOLBOX_IMAGE } from "../../../runner/cluster/images.ts";
import { openTerminal, terminalUrl } from "../../../runner/cluster/ws-terminal.ts";
import { ensureToolbox, toolboxAddons } from "../../../runner/serve/toolbox.ts";
import { FakeCluster, node } from "../checks/fakes.ts";

/** The pod as the API server gives it back: defaults and the ServiceAccount token's volume added. */
function live(pod: KubeObject = toolboxPod({ node: "cp" })): KubeObject {
  const p = structuredClone(pod) as KubeObject & { spec: Record<string, unknown> & { containers: Record<string, unknown>[]; volumes: unknown[] } };
  p.spec.volumes.push({ name: "kube-api-access-x7k2p", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } });
  (p.spec.containers[0]!.volumeMounts as unknown[]).push({ name: "kube-api-access-x7k2p", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true });
  p.spec.containers[0]!.terminationMessagePath = "/dev/termination-log";
  p.spec.schedulerName = "default-scheduler";
  p.metadata.uid = "u1";
  return p;
}

function variant(change: (spec: Record<string, unknown> & { containers: Record<string, unknown>[] }, pod: KubeObject) => void): KubeObject {
  const p = live();
  change(p.spec as Record<string, unknown> & { containers: Record<string, unknown>[] }, p);
  return p;
}

describe("serve: labrun's toolbox pod", () => {
  it("is bash and kubectl on the control plane's host network, with cluster-admin, the add-ons mounted, uid 1000 and no capabilities", () => {
    const objects = toolboxObjects({ node: "cp", addons: { flannel: "kind: DaemonSet\n" } });
    expect(objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`)).to.deep.equal([
      "Namespace /labrun-system",
      "ServiceAccount labrun-system/labrun-toolbox",
      "ClusterRoleBinding /labrun-toolbox",
      "ConfigMap labrun-system/labrun-toolbox-addons",
      "Pod labrun-system/labrun-toolbox",
    ]);
    expect(objects[2]).to.deep.include({ roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ kind: "ServiceAccount", name: "labrun-toolbox", namespace: "labrun-system" }] });
    expect(objects[3]!.data).to.deep.equal({ "flannel.yaml": "kind: DaemonSet\n" });
    const spec = objects[4]!.spec as Record<string, unknown> & { containers: Record<string, unknown>[] };
    expect(spec).to.deep.include({ nodeName: "cp", hostNetwork: true, serviceAccountName: "labrun-toolbox", tolerations: [{ operator: "Exists" }] });
    expect(spec.containers[0]).to.deep.include({ image: TOOLBOX_IMAGE, command: ["sleep", "infinity"], securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } } });
    expect(spec.containers[0]!.env).to.deep.equal([
      { name: "POD_NAMESPACE", value: "default" },
      { name: "KUBERNETES_SERVICE_HOST", value: "127.0.0.1" },
      { name: "KUBERNETES_SERVICE_PORT", value: "6443" },
    ]);
    expect(spec.containers[0]!.volumeMounts).to.deep.equal([{ name: "addons", mountPath: TOOLBOX_ADDONS_DIR, readOnly: true }]);
  });

  it("the exemption is the exact pod labrun makes: as the API returns it, and nothing a learner makes by copying its name, labels or annotation", () => {
    expect(isLabrunToolboxPod(live())).to.equal(true);
    expect(isLabrunToolboxPod(live(toolboxPod({})))).to.equal(true);
    const learners: [string, KubeObject][] = [
      ["another namespace", variant((_, p) => (p.metadata.namespace = "default"))],
      ["another name", variant((_, p) => (p.metadata.name = "labrun-toolbox-2"))],
      ["another image", variant((s) => (s.containers[0]!.image = "docker.io/library/nginx:1.22.1"))],
      ["another command", variant((s) => (s.containers[0]!.command = ["nginx", "-g", "daemon off;"]))],
      ["args added", variant((s) => (s.containers[0]!.args = ["10"]))],
      ["a second container", variant((s) => s.containers.push({ name: "web", image: "docker.io/library/nginx:1.22.1" }))],
      ["an init container", variant((s) => (s.initContainers = [{ name: "init", image: TOOLBOX_IMAGE }]))],
      ["an ephemeral container", variant((s) => (s.ephemeralContainers = [{ name: "debugger", image: "docker.io/curlimages/curl:7.88.1" }]))],
      ["privileged", variant((s) => (s.containers[0]!.securityContext = { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } }))],
      ["NET_ADMIN", variant((s) => (s.containers[0]!.securityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } }))],
      ["root", variant((s) => (s.securityContext = { runAsUser: 0 }))],
      ["root in the container", variant((s) => ((s.containers[0]!.securityContext as Record<string, unknown>).runAsUser = 0))],
      ["another ServiceAccount", variant((s) => (s.serviceAccountName = "default"))],
      ["hostPID", variant((s) => (s.hostPID = true))],
      ["a hostPath volume", variant((s) => (s.volumes as unknown[]).push({ name: "host", hostPath: { path: "/" } }))],
      ["a hostPath named like the token volume", variant((s) => (s.volumes as unknown[]).push({ name: "kube-api-access-zz", hostPath: { path: "/" } }))],
      ["another mount", variant((s) => (s.containers[0]!.volumeMounts as unknown[]).push({ name: "addons", mountPath: "/etc" }))],
      ["another ConfigMap", variant((s) => ((s.volumes as { configMap?: { name: string } }[])[0]!.configMap = { name: "mine" }))],
      ["not a pod", { ...live(), kind: "Deployment" }],
    ];
    for (const [what, pod] of learners) expect(isLabrunToolboxPod(pod), what).to.equal(false);
  });

  it("its add-ons are labrun's, filled with the lab's pod subnet (what `labrun addon NAME --lab` prints)", async () => {
    const addons = await toolboxAddons({ networking: { podSubnet: "192.168.0.0/16" } } as never);
    expect(Object.keys(addons)).to.include.members(["flannel", "kube-router-netpol"]);
    expect(Object.keys(addons), "cilium's images are not in the nodes; the page cannot load them").not.to.include("cilium");
    expect(addons.flannel).to.include('"Network": "192.168.0.0/16"');
    expect(addons.flannel).not.to.include("{{");
  });

  it("ensureToolbox applies it on the control-plane node and waits until it runs; an image the node lacks is an error that says what to build", async () => {
    const cluster = new FakeCluster().put(node("lab-worker"), node("lab-control-plane", { controlPlane: true }));
    let reads = 0;
    cluster.beforeRead = () => {
      if (++reads === 4) {
        const pod = cluster.objects.get(FakeCluster.key("v1", "Pod", "labrun-system", "labrun-toolbox"))!;
        pod.status = { phase: "Running", containerStatuses: [{ ready: true, state: { running: {} } }] };
      }
    };
    const result = await ensureToolbox(cluster, { cluster: { networking: {} } as never, pollMs: 1 });
    expect(result).to.deep.equal({ node: "lab-control-plane" });
    expect((cluster.objects.get(FakeCluster.key("v1", "Pod", "labrun-system", "labrun-toolbox"))!.spec as { nodeName: string }).nodeName).to.equal("lab-control-plane");
    expect(cluster.objects.has(FakeCluster.key("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", undefined, "labrun-toolbox"))).to.equal(true);

    const bare = new FakeCluster().put(node("cp", { controlPlane: true }));
    bare.beforeRead = () => {
      const pod = bare.objects.get(FakeCluster.key("v1", "Pod", "labrun-system", "labrun-toolbox"));
      if (pod) pod.status = { phase: "Pending", containerStatuses: [{ ready: false, state: { waiting: { reason: "ErrImageNeverPull", message: "image not present" } } }] };
    };
    const error = (await ensureToolbox(bare, { cluster: { networking: {} } as never, pollMs: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    )) as (Error & { hint?: string }) | undefined;
    expect(error).to.be.instanceOf(Error);
    expect(error!.message).to.include("ErrImageNeverPull");
    expect(error!.hint).to.include("toolbox-image");
  });

  it("TOOLBOX_IMAGE is the name tools/images/versions.sh builds", async () => {
    const sh = await readFile(new URL("../../../tools/images/versions.sh", import.meta.url), "utf8");
    const vars: Record<string, string> = {};
    for (const m of sh.matchAll(/^([A-Z0-9_]+)=(\S+)/gm)) vars[m[1]!] = m[2]!.replace(/\$\{([A-Z0-9_]+)\}/g, (_, k: string) => vars[k] ?? "");
    expect(TOOLBOX_IMAGE).to.equal(vars.TOOLBOX_IMAGE);
  });
});

describe("cluster: the TTY exec (ws-terminal)", () => {
  let server: WebSocketServer;
  let base: string;
  const received: { url: string; protocol: string; frames: Buffer[] }[] = [];
  let onConnection: (socket: WebSocket) => void = () => undefined;

  before(async () => {
    server = new WebSocketServer({ port: 0, host: "127.0.0.1", handleProtocols: (p) => (p.has("v5.channel.k8s.io") ? "v5.channel.k8s.io" : false) });
    server.on("connection", (socket, request) => {
      const entry = { url: request.url ?? "", protocol: socket.protocol, frames: [] as Buffer[] };
      received.push(entry);
      socket.on("message", (data: Buffer) => entry.frames.push(data));
      onConnection(socket);
    });
    await new Promise((r) => server.once("listening", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it("asks for stdin, stdout and a TTY (no separate stderr), sends the size first, then keystrokes and resizes; output and the status come back", async () => {
    const url = terminalUrl("https://10.0.0.1:6443", { namespace: "labrun-system", pod: "labrun-toolbox", container: "shell" }, ["/bin/bash", "-il"]);
    expect(url.protocol).to.equal("wss:");
    expect(url.searchParams.getAll("command")).to.deep.equal(["/bin/bash", "-il"]);
    expect(Object.fromEntries([...url.searchParams].filter(([k]) => k !== "command"))).to.deep.equal({ container: "shell", stdin: "true", stdout: "true", stderr: "false", tty: "true" });

    onConnection = (socket) => {
      socket.on("message", (data: Buffer) => {
        if (data[0] === 0 && data.subarray(1).toString() === "exit\r") {
          socket.send(Buffer.concat([Buffer.from([1]), Buffer.from("logout\r\n")]));
          socket.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ status: "Success" }))]));
          socket.close();
        }
      });
    };
    const output: string[] = [];
    let exit: unknown;
    const ended = new Promise<void>((resolve) => {
      void openTerminal({ server: base, agent: new HttpAgent(), headers: {} }, { namespace: "ns", pod: "p", container: "c" }, ["bash"], { cols: 100, rows: 30 }, {
        onOutput: (d) => output.push(d.toString()),
        onExit: (e) => {
          exit = e;
          resolve();
        },
      }).then((t) => {
        t.resize({ cols: 120, rows: 40 });
        t.write(Buffer.from("exit\r"));
      });
    });
    await ended;
    const conn = received.at(-1)!;
    expect(conn.protocol).to.equal("v5.channel.k8s.io");
    expect(conn.url).to.match(/^\/api\/v1\/namespaces\/ns\/pods\/p\/exec\?/);
    expect(conn.frames.map((f) => [f[0], f.subarray(1).toString()])).to.deep.equal([
      [4, '{"Width":100,"Height":30}'],
      [4, '{"Width":120,"Height":40}'],
      [0, "exit\r"],
    ]);
    expect(output.join("")).to.equal("logout\r\n");
    expect(exit).to.deep.equal({ status: { status: "Success" } });
  });

  it("a refused exec rejects with the API's message", async () => {
    const http = await import("node:http");
    const api = http.createServer((_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", message: 'pods "labrun-toolbox" not found' }));
    });
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    try {
      const error = await openTerminal({ server: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, agent: new http.Agent(), headers: {} }, { namespace: "ns", pod: "p", container: "c" }, ["bash"], { cols: 80, rows: 24 }, { onOutput: () => undefined, onExit: () => undefined }).catch((e: unknown) => e as Error);
      expect((error as Error).message).to.equal('pods "labrun-toolbox" not found (HTTP 404)');
    } finally {
      api.close();
    }
  });
});
