// Where the report's SVG plots put things: one width, font and left margin for all, and the latency histograms'
// size and margins (the timeline and the shards' picture change what they need).

export const WIDTH = 720;
export const LEFT = 64;
export const TOP = 62;
/** The latency histograms' right margin, bottom margin (room for the x ticks and the axis title) and size. */
export const RIGHT = 20;
export const BOTTOM = 44;
export const HEIGHT = 300;
export const PLOT_W = WIDTH - LEFT - RIGHT;
export const PLOT_H = HEIGHT - TOP - BOTTOM;
export const FONT = `font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"`;
