-- Removes every table of the NATS Streaming SQL store from a MySQL / MariaDB database (indexes go with their tables).
-- This deletes all data.
DROP TABLE IF EXISTS ServerInfo;
DROP TABLE IF EXISTS Clients;
DROP TABLE IF EXISTS Channels;
DROP TABLE IF EXISTS Messages;
DROP TABLE IF EXISTS Subscriptions;
DROP TABLE IF EXISTS SubsPending;
DROP TABLE IF EXISTS StoreLock;
