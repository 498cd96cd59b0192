export { keyProtectSurface, type KeyProtectSurfaceOptions } from './key-protect-surface.ts';
