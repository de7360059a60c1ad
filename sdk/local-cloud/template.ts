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
  readonly resources: Readonly<Record<string, Resource>>;
}

/**
 * Reads a stack of the cloud assembly in `assembly`.
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
  const template = JSON.parse(readFileSync(join(folder, artifact.properties?.templateFile ?? `${name}.template.json`), "utf8")) as {
    Resources?: Record<string, Resource>;
  };
  return { name, assembly: folder, resources: template.Resources ?? {} };
}

/** The resources of one type, by logical id. */
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
