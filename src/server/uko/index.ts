export { ukoSurface, type UkoSurfaceOptions } from './uko-surface.ts';
