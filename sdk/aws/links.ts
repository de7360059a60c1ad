/**
 * Dependency links as the DynamoDB store keeps them: on the upstream's record, in its
 * `links` map (one entry per edge out of it, short attribute names since every write to the
 * record pays for its size), and beyond {@link LINKS_ON_RECORD} of them in link items of
 * their own beside the record, so an execution passed to thousands of others does not grow
 * into an item that costs a hundred units a write.
 */
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { EdgeKind, type Edge } from "../engine/model.ts";

/** The most links kept on a record; the rest are items of their own. */
export const LINKS_ON_RECORD = 8;

/** One edge as stored. */
export interface Link {
  /** The downstream's id. */
  readonly d: string;
  /** "a" for an argument edge, "w" for an await. */
  readonly k: "a" | "w";
  /** The downstream's generation the edge belongs to. */
  readonly g: number;
  /** Whether the downstream's counter counts it. */
  readonly w: boolean;
  /** The downstream's fan-in in that generation. */
  readonly f?: number;
  /** Its slot: the upstream's position among the downstream's edges of that generation. */
  readonly s: number;
  /** When it was made, epoch milliseconds. */
  readonly c: number;
  /** The downstream's attempt then. */
  readonly a?: number;
  /** The downstream's run, when not the upstream's. */
  readonly r?: string;
}

/** The key of an edge among its upstream's links. */
export function linkKey(edge: Pick<Edge, "downstreamId" | "kind" | "generation">): string {
  return `${edge.downstreamId}|${edge.kind === EdgeKind.Await ? "w" : "a"}|${edge.generation}`;
}

/** An edge as stored, out of an upstream of run `upstreamRunId`. */
export function linkOf(edge: Edge, upstreamRunId?: string): Link {
  return {
    d: edge.downstreamId,
    k: edge.kind === EdgeKind.Await ? "w" : "a",
    g: edge.generation,
    w: edge.waits,
    ...(edge.fanIn === undefined ? {} : { f: edge.fanIn }),
    s: edge.slot ?? 0,
    c: edge.createdAt,
    ...(edge.attempt === undefined ? {} : { a: edge.attempt }),
    ...(upstreamRunId === undefined || edge.runId === upstreamRunId ? {} : { r: edge.runId }),
  };
}

/** The edges of stored links out of `upstreamId`, of run `runId`. */
export function edgesOfLinks(upstreamId: string, links: Iterable<Link> | undefined, runId: string): Edge[] {
  if (links === undefined) return [];
  const edges: Edge[] = [];
  for (const link of links) {
    edges.push({
      upstreamId,
      downstreamId: link.d,
      runId: link.r ?? runId,
      kind: link.k === "w" ? EdgeKind.Await : EdgeKind.Argument,
      waits: link.w,
      generation: link.g,
      ...(link.f === undefined ? {} : { fanIn: link.f }),
      slot: link.s,
      ...(link.a === undefined ? {} : { attempt: link.a }),
      // Whether it was counted is known to the downstream alone: a release is idempotent.
      released: false,
      createdAt: link.c,
    });
  }
  return edges;
}

/** The key fields of a stored link, as an edge's (for {@link linkKey}). */
export function edgeOfLink(link: Link): Pick<Edge, "downstreamId" | "kind" | "generation"> {
  return { downstreamId: link.d, kind: link.k === "w" ? EdgeKind.Await : EdgeKind.Argument, generation: link.g };
}

/**
 * The edges out of execution `id` as a stream record's image of its item shows them, or
 * `undefined` when the image cannot tell them all (links in items of their own, or no
 * links attribute): then they are read from the table.
 */
export function edgesOfImage(id: string, image: Readonly<Record<string, { readonly M?: unknown; readonly S?: string; readonly BOOL?: boolean }>>): Edge[] | undefined {
  const links = image.links?.M;
  const runId = image.runId?.S;
  if (links === undefined || runId === undefined || image.overflow?.BOOL === true) return undefined;
  return edgesOfLinks(id, Object.values(unmarshall(links as Parameters<typeof unmarshall>[0]) as Record<string, Link>), runId);
}
