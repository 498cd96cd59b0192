export { consoleSurface, type ConsoleSurfaceOptions } from './console-surface.ts';
export { ConsoleSessions, IDLE_TIMEOUT_MS, type ConsoleSession, type SessionIdentity } from './console-sessions.ts';
