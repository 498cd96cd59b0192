export { ukoSurface, STATUS as UKO_STATUS, type UkoSurfaceOptions } from './uko-surface.ts';
export { keystoreView, managedKeyView, viewContext } from './uko-views.ts';
