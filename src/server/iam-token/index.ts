export { iamTokenSurface, type IamTokenSurfaceOptions } from './iam-token-surface.ts';
