/** A channel name (a publish subject) must be a literal NATS subject: no wildcards, no empty tokens, no spaces. */
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
    if (c === 42 /* * */ || c === 62 /* > */ || c <= 32 || c === 127) return false;
    tokenLen++;
  }
  return tokenLen > 0;
}

/** A NATS subject the server may publish to (an inbox): wildcards are not allowed either. */
export const isValidInbox = isValidChannelName;

/** Client IDs follow the Go server's rule: letters, digits, '-' and '_' only. */
const CLIENT_ID = /^[A-Za-z0-9_-]+$/;
export function isValidClientId(id: string): boolean {
  return CLIENT_ID.test(id);
}
