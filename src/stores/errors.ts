/** Errors on the store seam. Their messages are the Go server's, because clients see some of them. */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
export class ErrTooManyChannels extends StoreError {
  constructor() {
    super('too many channels');
  }
}
export class ErrTooManySubs extends StoreError {
  constructor() {
    super('too many subscriptions per channel');
  }
}
export class ErrAlreadyExists extends StoreError {
  constructor(what: string) {
    super(`already exists: ${what}`);
  }
}
export class ErrNotFound extends StoreError {
  constructor(what: string) {
    super(`not found: ${what}`);
  }
}
export class ErrClosed extends StoreError {
  constructor() {
    super('store is closed');
  }
}
