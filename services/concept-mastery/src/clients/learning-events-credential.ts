// The Brain's own identity towards the Logger: a bearer token from a file (a projected
// ServiceAccount token, which the kubelet rotates in place: re-read whenever it changes) or an
// API key. Neither configured: requests go without credentials (the Logger runs AUTH_MODE=off).
import { ReloadingFile } from '@learning-analytics/common';

export function learningEventsAuthorization(config: {
  LEARNING_EVENTS_TOKEN_FILE?: string | undefined;
  LEARNING_EVENTS_API_KEY?: string | undefined;
}): (() => string) | undefined {
  if (config.LEARNING_EVENTS_TOKEN_FILE !== undefined) {
    const token = new ReloadingFile(config.LEARNING_EVENTS_TOKEN_FILE, (text) => {
      const value = text.trim();
      if (!/^[A-Za-z0-9._~+/=-]+$/.test(value)) throw new Error('does not hold a bearer token');
      return value;
    });
    return () => `Bearer ${token.current()}`;
  }
  const apiKey = config.LEARNING_EVENTS_API_KEY;
  return apiKey === undefined ? undefined : () => `Bearer ${apiKey}`;
}
