/** Error texts sent to clients in protocol responses. They are the Go server's, because clients compare some of them. */
export const ProtocolError = {
  invalidConnReq: 'stan: invalid connection request',
  invalidClientId: 'stan: invalid clientID: only alphanumeric and `-` or `_` characters allowed',
  clientAlreadyRegistered: 'stan: clientID already registered',
  invalidPubReq: 'stan: invalid publish request',
  invalidSubReq: 'stan: invalid subscription request',
  missingClient: 'stan: clientID missing',
  invalidAckWait: 'stan: invalid ack wait time, should be >= 1s',
  invalidMaxInflight: 'stan: invalid MaxInflight, should be >= 1',
  invalidStart: 'stan: invalid start position',
  invalidSubject: 'stan: invalid subject',
  unknownClient: 'stan: unknown clientID',
  invalidDurableName: "stan: durable name of a durable queue subscriber can't contain the character ':'",
  dupDurable: 'stan: duplicate durable registration',
  invalidUnsubReq: 'stan: invalid unsubscribe request',
  unknownChannel: 'stan: unknown channel',
  invalidSub: 'stan: invalid subscription',
  invalidCloseReq: 'stan: invalid close request',
  channelBeingDeleted: 'stan: channel is being deleted',
  clientReplaced: 'client has been replaced or is no longer registered',
} as const;

/** An error whose message is meant for the client that made the request. */
export class RequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestError';
  }
}

export function caseConflict(name: string, existing: string): RequestError {
  // "alreay" is the Go server's spelling; clients may match on it.
  return new RequestError(`rejecting channel "${name}" because channel "${existing}" alreay exists (different cases not allowed)`);
}
