-- Removes every table (and index) of the NATS Streaming SQL store from a PostgreSQL database. This deletes all data.
DROP TABLE IF EXISTS ServerInfo;
DROP TABLE IF EXISTS Clients;
DROP INDEX IF EXISTS Idx_ChannelsName;
DROP TABLE IF EXISTS Channels;
DROP INDEX IF EXISTS Idx_MsgsTimestamp;
DROP TABLE IF EXISTS Messages;
DROP TABLE IF EXISTS Subscriptions;
DROP INDEX IF EXISTS Idx_SubsPendingSeq;
DROP TABLE IF EXISTS SubsPending;
DROP TABLE IF EXISTS StoreLock;
