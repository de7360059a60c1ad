/**
 * The run's graph as SVG, laid out by dagre: one node per execution or per collapsed group,
 * dependencies as solid arrows (upstream to downstream), parent–child links dashed. It
 * opens fitted to its panel, zooms (wheel, buttons) and pans (drag) by moving its viewBox,
 * and centres on the execution selected. Nodes and edges go to dagre in the order of
 * `groupGraph`, which comes from the run's content: the same code lays out the same.
 */
import type { RunJson } from "../http/views.ts";
import { h, runLink, s } from "./dom.ts";
import { layoutGraph, nodeLabel, nodeState, type Box } from "./graph-layout.ts";
import { groupState, type GroupGraph } from "./groups.ts";

/** Zoom limits, as the viewBox's width over the laid-out graph's. */
const minZoom = 0.02;
const maxZoom = 8;


/** The graph of one run, kept across polls: laid out again only when its nodes or edges change. */
export class GraphView {
  /** The zoom buttons and the SVG. */
  readonly element: HTMLElement;
  readonly #svg: SVGSVGElement;
  #model: GroupGraph | undefined;
  #shape = "";
  /** Where the layout put each node (its centre and size), and each edge's points, by index. */
  #nodes = new Map<string, Box>();
  #edges: (readonly { x: number; y: number }[])[] = [];
  #laidOut = false;
  #size = { w: 1, h: 1 };
  #view: Box = { x: 0, y: 0, w: 1, h: 1 };
  /** Until the user zooms or pans, a new layout is fitted again. */
  #touched = false;
  #dragged = false;

  /** @param onToggle - called with a group's key when its node is clicked */
  constructor(private readonly onToggle: (key: string) => void) {
    this.#svg = s("svg", { class: "graph", role: "img", "aria-label": "graph", preserveAspectRatio: "xMidYMid meet" });
    const button = (text: string, title: string, act: () => void): HTMLButtonElement => h("button", { type: "button", title, "aria-label": title, onclick: act }, text);
    const tools = h(
      "div",
      { class: "graph-tools" },
      button("+", "zoom in", () => this.zoom(1 / 1.25)),
      button("−", "zoom out", () => this.zoom(1.25)),
      button("fit", "fit the graph to the panel", () => this.fit()),
    );
    this.element = h("div", { class: "graph-box" }, tools, this.#svg);
    this.#listen();
  }

  /** Takes the run's graph as it now is: lays it out again if its shape changed, else updates states. */
  update(run: RunJson, model: GroupGraph, selected: string | undefined): void {
    this.#model = model;
    const shape = model.nodes.map((n) => n.id).join(",") + "|" + model.edges.map((e) => `${e.kind}${e.from}>${e.to}`).join(",");
    if (shape !== this.#shape) {
      this.#shape = shape;
      this.#layout(model);
      if (!this.#touched) this.fit();
    }
    this.#draw(run, model, selected);
  }

  /** Moves the view so the execution's node is in the middle, at the current zoom. */
  centre(executionId: string): void {
    const id = this.#model?.nodeOf.get(executionId);
    const node = id === undefined ? undefined : this.#nodes.get(id);
    if (node === undefined) return;
    this.#setView({ ...this.#view, x: node.x - this.#view.w / 2, y: node.y - this.#view.h / 2 });
  }

  /** Shows the whole graph, centred, shrunk to fit the panel but never enlarged past its own size. */
  fit(): void {
    const pad = 12;
    this.#touched = false;
    const { w, h: ht } = this.#size;
    // Not yet in the page (no size): the graph's own size.
    const width = Math.max(w + 2 * pad, this.#svg.clientWidth);
    const height = Math.max(ht + 2 * pad, this.#svg.clientHeight);
    this.#setView({ x: w / 2 - width / 2, y: ht / 2 - height / 2, w: width, h: height });
  }

  /**
   * Zooms by `factor` (below 1 zooms in) around `at`, in graph coordinates (the view's middle by default).
   */
  zoom(factor: number, at?: { x: number; y: number }): void {
    const v = this.#view;
    const limit = Math.max(this.#size.w, this.#size.h);
    const w = Math.min(Math.max(v.w * factor, limit * minZoom), limit * maxZoom);
    const f = w / v.w;
    const p = at ?? { x: v.x + v.w / 2, y: v.y + v.h / 2 };
    this.#touched = true;
    this.#setView({ x: p.x - (p.x - v.x) * f, y: p.y - (p.y - v.y) * f, w, h: v.h * f });
  }

  #setView(view: Box): void {
    this.#view = view;
    this.#svg.setAttribute("viewBox", `${view.x.toFixed(1)} ${view.y.toFixed(1)} ${view.w.toFixed(1)} ${view.h.toFixed(1)}`);
  }

  /** The point of the graph under a point of the screen. */
  #toGraph(clientX: number, clientY: number): { x: number; y: number } {
    const matrix = this.#svg.getScreenCTM();
    if (matrix === null) return { x: this.#view.x, y: this.#view.y };
    const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
    return { x: point.x, y: point.y };
  }

  #listen(): void {
    const svg = this.#svg;
    svg.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        this.zoom(Math.exp(event.deltaY * 0.0015), this.#toGraph(event.clientX, event.clientY));
      },
      { passive: false },
    );
    let from: { x: number; y: number; view: Box; pointer: number } | undefined;
    svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      from = { x: event.clientX, y: event.clientY, view: { ...this.#view }, pointer: event.pointerId };
      this.#dragged = false;
    });
    svg.addEventListener("pointermove", (event) => {
      if (from === undefined) return;
      const dx = event.clientX - from.x;
      const dy = event.clientY - from.y;
      // A click that trembles a pixel or two is still a click.
      if (!this.#dragged && Math.hypot(dx, dy) < 4) return;
      if (!this.#dragged) svg.setPointerCapture(from.pointer);
      this.#dragged = true;
      this.#touched = true;
      const scale = svg.getScreenCTM()?.a ?? 1;
      this.#setView({ ...from.view, x: from.view.x - dx / scale, y: from.view.y - dy / scale });
    });
    const end = (): void => {
      from = undefined;
    };
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    // A drag ends in a click on whatever is under the pointer: it must not follow a link.
    svg.addEventListener(
      "click",
      (event) => {
        if (!this.#dragged) return;
        this.#dragged = false;
        event.preventDefault();
        event.stopPropagation();
      },
      true,
    );
  }

  #layout(model: GroupGraph): void {
    const laid = layoutGraph(model);
    this.#nodes = laid.nodes;
    this.#edges = laid.edges;
    this.#size = laid.size;
    this.#laidOut = true;
  }

  #draw(run: RunJson, model: GroupGraph, selected: string | undefined): void {
    if (!this.#laidOut) return;
    const parts: SVGElement[] = [
      s(
        "defs",
        {},
        s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" })),
      ),
    ];
    model.edges.forEach((edge, i) => {
      const points = this.#edges[i] ?? [];
      const d = points.map((p, j) => `${j === 0 ? "M" : "L"} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" ");
      parts.push(s("path", { class: `edge edge-${edge.kind}`, d, "data-from": edge.from, "data-to": edge.to, "marker-end": edge.kind === "dependency" ? "url(#arrow)" : undefined }));
    });
    const selectedNode = selected === undefined ? undefined : model.nodeOf.get(selected);
    for (const node of model.nodes) {
      const at = this.#nodes.get(node.id);
      if (at === undefined) continue;
      const { x, y, w, h: ht } = at;
      const state = node.kind === "execution" ? node.execution.state : groupState(node.group);
      const attrs =
        node.kind === "execution"
          ? { "data-execution-id": node.id, "data-task": node.execution.task }
          : {
              "data-group": node.group.key,
              "data-task": node.group.task,
              role: "button",
              tabindex: 0,
              onclick: () => this.onToggle(node.group.key),
              onkeydown: (event: Event) => {
                if ((event as KeyboardEvent).key !== "Enter" && (event as KeyboardEvent).key !== " ") return;
                event.preventDefault();
                this.onToggle(node.group.key);
              },
            };
      const g = s("g", { class: `node${node.kind === "group" ? " group-node" : ""} state-${state}${node.id === selectedNode ? " selected" : ""}`, ...attrs });
      g.append(
        s("rect", { x: x - w / 2, y: y - ht / 2, width: w, height: ht, rx: 6 }),
        s("text", { class: "node-label", x, y: y - 3, "text-anchor": "middle" }, nodeLabel(node)),
        s("text", { class: "node-state", x, y: y + 13, "text-anchor": "middle" }, nodeState(node)),
      );
      parts.push(node.kind === "execution" ? s("a", { href: runLink(run.id, node.id) }, g) : g);
    }
    this.#svg.replaceChildren(...parts);
  }
}
