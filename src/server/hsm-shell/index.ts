export { hsmShellSurface, type HsmShellSurfaceOptions } from './hsm-shell-surface.ts';
