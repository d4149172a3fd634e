/** The Go server version whose behaviour this server reproduces, reported in serverz as the Go server reports its own. */
export const VERSION = '0.25.6';
