// Writes the protobuf descriptor of proto/protocol.proto and proto/spb.proto into src/proto/descriptor.ts, so that the
// server builds its codecs from it: it no longer looks for the .proto files on disk at each start nor parses them.
// test/unit/proto-descriptor.test.ts checks that it matches the .proto files.
import { writeFile } from 'node:fs/promises';
import protobuf from 'protobufjs';

const root = new URL('../', import.meta.url).pathname;
const descriptor = protobuf.loadSync([`${root}proto/protocol.proto`, `${root}proto/spb.proto`]).toJSON();
await writeFile(
  `${root}src/proto/descriptor.ts`,
  `/** proto/protocol.proto and proto/spb.proto as protobufjs JSON; written by scripts/proto-descriptor.mjs, do not edit. */\nexport const DESCRIPTOR = ${JSON.stringify(descriptor, null, 2)};\n`,
);
