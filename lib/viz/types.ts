/**
 * Plotly figure specs as plain, JSON-serialisable objects. Only the fields the kit uses are
 * typed; plotly accepts many more, so every interface stays open (`[key: string]: unknown`).
 * Reference: https://plotly.com/javascript/reference/ (schema of plotly.js 3.x).
 */

/** Fields every trace shares. */
export interface TraceBase {
  type: string;
  name?: string;
  visible?: boolean | 'legendonly';
  hovertemplate?: string;
  showlegend?: boolean;
  xaxis?: string;
  yaxis?: string;
  [key: string]: unknown;
}

export interface HeatmapTrace extends TraceBase {
  type: 'heatmap';
  /** Rows are y (queries), columns are x (keys). `null` draws a gap. */
  z: (number | null)[][];
  x: number[];
  y: number[];
  /** One hover label per cell, same shape as z. */
  text?: string[][];
  colorscale?: string | [number, string][];
  zmin?: number;
  zmax?: number;
  coloraxis?: string;
}

export interface ScatterTrace extends TraceBase {
  type: 'scatter';
  x: (number | string)[];
  y: (number | null)[];
  mode?: string;
}

export interface BarTrace extends TraceBase {
  type: 'bar';
  x: (number | string)[];
  y: number[];
}

export type Trace = HeatmapTrace | ScatterTrace | BarTrace | TraceBase;

export interface Axis {
  title?: { text: string };
  tickvals?: number[];
  ticktext?: string[];
  type?: 'linear' | 'log' | 'category';
  autorange?: boolean | 'reversed';
  domain?: [number, number];
  anchor?: string;
  [key: string]: unknown;
}

export interface Layout {
  title?: { text: string };
  xaxis?: Axis;
  yaxis?: Axis;
  width?: number;
  height?: number;
  [key: string]: unknown;
}

/** A complete figure: what `Plotly.newPlot(div, data, layout, config)` takes. */
export interface Figure {
  data: Trace[];
  layout: Layout;
  config?: Record<string, unknown>;
}

/** A matrix given as nested arrays or as a (rank-2, or squeezable to rank 2) tensor. */
export type MatrixLike = readonly (readonly number[])[] | readonly (readonly boolean[])[] | { arraySync(): unknown; shape: number[] };
