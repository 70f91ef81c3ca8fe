export * from './cells.js';
export * from './sparkline.js';
export * from './progressBar.js';
export * from './lineChart.js';
export * from './axis.js';
export * from './lossChart.js';
export * from './domain.js';
export * from './overlayChart.js';
