/**
 * A synthesized CDK app (a cloud assembly, `cdk.out`) read for the bundled cloud: the
 * stack's template, and in it what Lambda would run and what feeds it. Only what the local
 * cloud emulates is read; the rest (roles, policies, alarms, log groups) has no local effect.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { FloeError, ErrorCode } from "../errors.ts";

/** A template resource: its type, properties and metadata. */
export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** A stack read from a cloud assembly. */
export interface StackTemplate {
  /** The stack's name (its artifact id). */
  readonly name: string;
  /** The assembly's folder; assets are relative to it. */
  readonly assembly: string;
  /**
   * The resources of the stack and of its nested stacks, each by its path: a logical id,
   * prefixed for a nested stack's resource by its stack's path and `/`
   * (`Tasks0NestedStack…/loadproductQueue…`), since logical ids are unique only within one template.
   */
  readonly resources: Readonly<Record<string, Resource>>;
  /**
   * Resolves the references in resource `path`'s properties in its own stack's scope: its
   * stack's resources, the parameters its parent passes (resolved in the parent's scope),
   * and the outputs of the stacks it nests (`Fn::GetAtt [Stack, Outputs.Name]`).
   *
   * @param refs - resolves a reference to a resource by its path (`Ref` as `Path`, `Fn::GetAtt` as `Path.Attribute`) and pseudo parameters
   */
  resolverFor(path: string, refs: Resolver): Resolver;
}

/** A template as synthesized: its parameters, resources and outputs. */
interface TemplateFile {
  readonly Parameters?: Record<string, { Default?: unknown }>;
  readonly Resources?: Record<string, Resource>;
  readonly Outputs?: Record<string, { Value?: unknown }>;
}

/** One template's scope: where its logical ids point, what its parameters are. */
interface Scope {
  /** Prepended to a logical id of this template to make its path: empty at the top. */
  readonly prefix: string;
  /** Values of the parameters, as the parent passes them (resolved in the parent's scope) or by default. */
  readonly parameters: ReadonlyMap<string, { readonly value: unknown; readonly passed: boolean }>;
  readonly parent?: Scope;
  /** The stacks this one nests, by logical id, with their outputs. */
  readonly nested: Map<string, { readonly scope: Scope; readonly outputs: Record<string, { Value?: unknown }> }>;
}

/**
 * Reads a stack of the cloud assembly in `assembly`, with the stacks it nests (recursively):
 * their templates are the assembly's files their `aws:asset:path` metadata names.
 *
 * @param assembly - the folder `cdk synth` wrote (`cdk.out`)
 * @param stack - the stack's name; needed only when the assembly holds several
 * @throws FloeError `FLOE_INVALID_OPTION` naming the folder or the stacks to choose from
 */
export function readStack(assembly: string, stack?: string): StackTemplate {
  const folder = resolve(assembly);
  const manifestFile = join(folder, "manifest.json");
  if (!existsSync(manifestFile)) {
    throw invalid(`the cloud assembly ${JSON.stringify(assembly)} holds no manifest.json; give the folder \`cdk synth\` writes (cdk.out), after running it`);
  }
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { artifacts?: Record<string, { type?: string; properties?: { templateFile?: string } }> };
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, artifact]) => artifact.type === "aws:cloudformation:stack");
  const names = stacks.map(([name]) => name);
  const chosen = stack === undefined ? (stacks.length === 1 ? stacks[0] : undefined) : stacks.find(([name]) => name === stack);
  if (chosen === undefined) {
    const which = stack === undefined ? `it holds ${names.length} stacks` : `it holds no stack ${JSON.stringify(stack)}`;
    throw invalid(`cannot choose a stack in ${folder}: ${which}; name one of ${names.join(", ") || "(none: synthesize an app with a stack)"} as the stack (--stack)`);
  }
  const [name, artifact] = chosen;
  const resources: Record<string, Resource> = {};
  const scopes = new Map<string, Scope>();
  const top = loadTemplate(folder, artifact.properties?.templateFile ?? `${name}.template.json`);
  readTemplate(folder, top, { prefix: "", parameters: new Map(), nested: new Map() }, resources, scopes);
  return {
    name,
    assembly: folder,
    resources,
    resolverFor: (path, refs) => {
      const scope = scopes.get(path);
      if (scope === undefined) throw invalid(`stack ${name} has no resource ${JSON.stringify(path)}`);
      return scopedResolver(scope, refs);
    },
  };
}

/**
 * Adds a template's resources to `resources` by path, and those of the stacks it nests
 * (`AWS::CloudFormation::Stack` resources whose template is the asset their metadata
 * names), recursively, each with its scope.
 */
function readTemplate(folder: string, template: TemplateFile, scope: Scope, resources: Record<string, Resource>, scopes: Map<string, Scope>): void {
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    resources[scope.prefix + id] = resource;
    scopes.set(scope.prefix + id, scope);
  }
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== "AWS::CloudFormation::Stack") continue;
    const asset = resource.Metadata?.["aws:asset:path"];
    if (typeof asset !== "string") {
      throw invalid(`nested stack ${scope.prefix + id} has no aws:asset:path metadata naming its template: synthesize with asset metadata (the cdk CLI's default)`);
    }
    scope.nested.set(id, readNested(folder, asset, scope.prefix + id, scope, resource, resources, scopes));
  }
}

/** Reads a nested stack's template in a scope of its own, its parameters given by `stack`'s `Parameters` in the parent's scope. */
function readNested(folder: string, file: string, path: string, parent: Scope, stack: Resource, resources: Record<string, Resource>, scopes: Map<string, Scope>) {
  const template = loadTemplate(folder, file);
  const passed = (stack.Properties?.Parameters ?? {}) as Record<string, unknown>;
  const parameters = new Map<string, { value: unknown; passed: boolean }>();
  for (const [name, declared] of Object.entries(template.Parameters ?? {})) {
    if (name in passed) parameters.set(name, { value: passed[name], passed: true });
    else if (declared.Default !== undefined) parameters.set(name, { value: declared.Default, passed: false });
  }
  const scope: Scope = { prefix: `${path}/`, parameters, parent, nested: new Map() };
  readTemplate(folder, template, scope, resources, scopes);
  return { scope, outputs: template.Outputs ?? {} };
}

function loadTemplate(folder: string, file: string): TemplateFile {
  const path = join(folder, file);
  if (!existsSync(path)) throw invalid(`the cloud assembly ${folder} holds no template ${file}: synthesize the app again (cdk synth)`);
  return JSON.parse(readFileSync(path, "utf8")) as TemplateFile;
}

/** Resolves references as written in `scope`'s template: to its parameters, its nested stacks' outputs, its resources by path. */
function scopedResolver(scope: Scope, refs: Resolver): Resolver {
  return (reference) => {
    if (reference.startsWith("AWS::")) return refs(reference);
    const dot = reference.indexOf(".");
    const id = dot < 0 ? reference : reference.slice(0, dot);
    const parameter = scope.parameters.get(id);
    if (dot < 0 && parameter !== undefined) {
      return parameter.passed && scope.parent !== undefined ? resolveValue(parameter.value, scopedResolver(scope.parent, refs)) : parameter.value;
    }
    const nested = scope.nested.get(id);
    const attribute = reference.slice(dot + 1);
    if (dot >= 0 && nested !== undefined && attribute.startsWith("Outputs.")) {
      const name = attribute.slice("Outputs.".length);
      const output = nested.outputs[name];
      if (output === undefined) throw invalid(`nested stack ${scope.prefix + id} has no output ${JSON.stringify(name)}; it has ${Object.keys(nested.outputs).join(", ") || "none"}`);
      return resolveValue(output.Value, scopedResolver(nested.scope, refs));
    }
    return refs(scope.prefix + reference);
  };
}


/** The resources of one type, by path (a logical id, prefixed in a nested stack). */
export function resourcesOfType(stack: StackTemplate, type: string): [string, Resource][] {
  return Object.entries(stack.resources).filter(([, resource]) => resource.Type === type);
}

/** The values the intrinsics of a template resolve to: `Ref` and `Fn::GetAtt` of each resource, and pseudo parameters. */
export type Resolver = (reference: string) => unknown;

/**
 * Resolves the intrinsics CDK writes into a template's properties: `Ref`, `Fn::GetAtt`,
 * `Fn::Join`, `Fn::Select`, `Fn::Split` and `Fn::Sub` (of references only).
 *
 * @param value - a template value
 * @param refs - `Ref` of a logical id or pseudo parameter as `Id`, `Fn::GetAtt` as `Id.Attribute`
 * @throws FloeError naming an intrinsic the local cloud cannot resolve
 */
export function resolveValue(value: unknown, refs: Resolver): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, refs));
  if (value === null || typeof value !== "object") return value;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 1 && keys[0] !== undefined && (keys[0] === "Ref" || keys[0].startsWith("Fn::"))) {
    const [key] = keys as [string];
    const args = object[key];
    switch (key) {
      case "Ref":
        return refs(args as string);
      case "Fn::GetAtt":
        return refs((Array.isArray(args) ? (args as string[]) : String(args).split(".")).join("."));
      case "Fn::Join": {
        const [separator, parts] = args as [string, unknown];
        return (resolveValue(parts, refs) as unknown[]).map(String).join(separator);
      }
      case "Fn::Select": {
        const [index, list] = args as [unknown, unknown];
        return (resolveValue(list, refs) as unknown[])[Number(resolveValue(index, refs))];
      }
      case "Fn::Split": {
        const [separator, source] = args as [string, unknown];
        return String(resolveValue(source, refs)).split(separator);
      }
      case "Fn::Sub": {
        const [text, variables] = (typeof args === "string" ? [args, {}] : args) as [string, Record<string, unknown>];
        return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) =>
          String(name in variables ? resolveValue(variables[name], refs) : refs(name)),
        );
      }
      default:
        throw invalid(`the bundled cloud cannot resolve ${key} (in ${JSON.stringify(value).slice(0, 200)}); it resolves Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split and Fn::Sub`);
    }
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolveValue(v, refs)]));
}

function invalid(message: string): FloeError {
  return new FloeError(ErrorCode.InvalidOption, message);
}

/** A scalar property as text (`undefined` when absent or not a scalar: an unresolved intrinsic, say). */
export function text(value: unknown): string | undefined {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : undefined;
}

/** The folder of a function's code: the asset its metadata names, in the assembly. */
export function assetOf(stack: StackTemplate, path: string): string {
  const asset = stack.resources[path]?.Metadata?.["aws:asset:path"];
  if (typeof asset !== "string") {
    throw invalid(`function ${path} has no aws:asset:path metadata: synthesize with asset metadata (the cdk CLI's default), and code from an asset, not inline`);
  }
  return resolve(stack.assembly, asset);
}

/**
 * What the stack's enabled scheduled rules (`rate(…)` expressions) invoke, and how often.
 * @param resolverFor - resolves the references in a resource's properties, in its stack's scope
 */
export function scheduledTargets(stack: StackTemplate, resolverFor: (path: string) => Resolver): { arn: string; everyMs: number }[] {
  return resourcesOfType(stack, "AWS::Events::Rule").flatMap(([id, rule]) => {
    const p = rule.Properties ?? {};
    const everyMs = ratePeriodMs(p.ScheduleExpression);
    if (everyMs === undefined || p.State === "DISABLED") return [];
    return ((p.Targets as { Arn: unknown }[] | undefined) ?? []).map((target) => ({ arn: String(resolveValue(target.Arn, resolverFor(id))), everyMs }));
  });
}

/** The period of a schedule expression `rate(n unit)`, in milliseconds (`undefined` for another expression: a cron). */
function ratePeriodMs(expression: unknown): number | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(text(expression) ?? "");
  if (rate === null) return undefined;
  return Number(rate[1]) * { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[(rate[2] ?? "minute").replace(/s$/, "") as "minute"];
}
