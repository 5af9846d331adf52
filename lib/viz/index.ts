/**
 * lib/viz: plotly figures for every lesson (attention heatmaps, head views, mask pictures, line
 * and bar charts, attention over image patches), rendered offline in JupyterLab via tslab
 * (`showFigure`) or saved as standalone HTML (`writeFigureHtml`).
 */
export * from './types.js';
export * from './figures.js';
export * from './render.js';
