/**
 * `labrun new <name>`: a scenario folder that is a complete, working lab from
 * the first minute (validates, and `labrun test` passes on it), for the author
 * to reshape: a one-node cluster, a Deployment scaled to zero, a check that
 * wants it running, and the solution that scales it up.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.ts";
import { SCHEMA_ID } from "../schema/values.ts";

export interface ScaffoldResult {
  dir: string;
  files: string[];
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Where editors find the schema: the repository's copy when the scenario sits in labrun's tree, else the published URL. */
export function schemaReference(dir: string): string {
  const local = fileURLToPath(new URL("../../schemas/scenario.schema.json", import.meta.url));
  const rel = relative(dir, local);
  return existsSync(local) && !rel.startsWith("../../../") ? rel : SCHEMA_ID;
}

export async function scaffoldScenario(name: string, parent: string): Promise<ScaffoldResult> {
  if (!NAME.test(name) || name.length > 63) {
    throw new UsageError(`invalid scenario name "${name}": use lower-case letters, digits and '-', starting and ending with a letter or digit`);
  }
  const dir = join(parent, name);
  if (existsSync(dir)) throw new UsageError(`${dir} already exists`, { hint: "choose another name or remove the folder" });
  await mkdir(join(dir, "manifests"), { recursive: true });
  await mkdir(join(dir, "solution"), { recursive: true });
  const files: Record<string, string> = {
    "scenario.yaml": scenarioYaml(name, schemaReference(dir)),
    "task.md": taskMd(name),
    "manifests/app.yaml": appYaml(name, 0),
    "solution/app.yaml": appYaml(name, 1),
  };
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text, { flag: "wx" });
  return { dir, files: Object.keys(files) };
}

function scenarioYaml(name: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
apiVersion: labrun.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
  title: "${name}: the web app is down"
  topic: "what the lab is about, in a few words (the catalogue)"
  summary: >-
    Describe in one or two sentences what is broken and what the learner practises.
  difficulty: beginner
  estimatedMinutes: 10
  tags: [workloads]
  authors:
    - name: Your Name

spec:
  cluster:
    nodes:
      - role: control-plane   # add "- role: worker" lines for more nodes

  images:                     # every image the lab uses, with a tag (loaded into the cluster)
    - docker.io/library/nginx:1.22.1

  setup:
    - name: deploy the app
      apply: { file: manifests/app.yaml }
    - name: the app's Deployment exists
      wait: { apiVersion: apps/v1, kind: Deployment, name: web, namespace: default, exists: true }

  # break:                    # steps that break the world after setup (optional)

  task:
    file: task.md

  checks:
    - id: web-running
      title: The web app has a running, ready pod
      points: 2
      timeout: 60s
      hint: "\`kubectl get deployment web\` shows how many replicas are wanted."
      podsReady:
        namespace: default
        selector: { app: web }

  broken:
    failing: [web-running]    # exactly these checks fail right after \`labrun start\`

  solution:
    steps:
      - apply: { file: solution/app.yaml }
      - wait: { kind: Pod, namespace: default, selector: { app: web }, condition: { type: Ready } }
`;
}

function taskMd(name: string): string {
  return `# ${name}

Tell the learner the story: who they are, what is broken, what "fixed" means.

The web app in the \`default\` namespace does not serve anything: find out why and fix it.

When you think you are done, run \`labrun grade ${name}\`.
`;
}

function appYaml(name: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels:
    app: web
    app.kubernetes.io/part-of: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: nginx
          image: docker.io/library/nginx:1.22.1
          imagePullPolicy: IfNotPresent
          ports:
            - containerPort: 80
`;
}
