/**
 * A channel name as the Go server accepts it: not empty, no empty token (no leading, trailing or double '.'), and no
 * '*', '>' or '/' anywhere. Nothing else is checked: a space is allowed, as in Go.
 */
export function isValidChannelName(subject: string): boolean {
  if (subject.length === 0) return false;
  let tokenLen = 0;
  for (let i = 0; i < subject.length; i++) {
    const c = subject.charCodeAt(i);
    if (c === 46 /* . */) {
      if (tokenLen === 0) return false;
      tokenLen = 0;
      continue;
    }
    if (c === 42 /* * */ || c === 62 /* > */ || c === 47 /* / */) return false;
    tokenLen++;
  }
  return tokenLen > 0;
}

/** Client IDs follow the Go server's rule: letters, digits, '-' and '_' only. */
const CLIENT_ID = /^[A-Za-z0-9_-]+$/;
export function isValidClientId(id: string): boolean {
  return CLIENT_ID.test(id);
}
