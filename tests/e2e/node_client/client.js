// SPDX-License-Identifier: Apache-2.0
// A client nobody in this project wrote: @grpc/grpc-js (the pure-JS gRPC of Node),
// with the .proto files loaded at run time by @grpc/proto-loader.
//
// Usage: node client.js ADDRESS          (against the helloworld sample)
//        node client.js --blog ADDRESS   (against the blog sample, on an empty database)
//
// Prints one line per check; tests/e2e/node_client_e2e_test.cc compares them. Any
// outcome the client does not expect ends it with exit code 1 and a line on stderr
// saying what it expected and what it got.
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const kRoot = path.resolve(__dirname, '..', '..', '..');
const kIncludeDirs = [
  path.join(kRoot, 'samples', 'helloworld', 'proto'),
  path.join(kRoot, 'samples', 'blog', 'proto'),
  path.join(kRoot, 'proto'),  // google/rpc/status.proto, error_details.proto
];
const kTimeoutMs = 10000;

class Unexpected extends Error {}

function fail(what) {
  throw new Unexpected(what);
}

function expectEqual(what, got, want) {
  if (got !== want) fail(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

function deadline(ms = kTimeoutMs) {
  return new Date(Date.now() + ms);
}

function codeName(code) {
  return grpc.status[code] || `code ${code}`;
}

function describe(err) {
  return err && err.code !== undefined ? `${codeName(err.code)} ${err.details}` : String(err);
}

// The package definition for the RPCs, with int64 as decimal strings so ids print
// exactly, and the proto field names (update_mask, not updateMask).
function loadServices() {
  const definition = protoLoader.loadSync(
      ['helloworld/v1/helloworld.proto', 'blog/v1/post.proto'],
      {keepCase: true, longs: String, enums: String, defaults: true, includeDirs: kIncludeDirs});
  return grpc.loadPackageDefinition(definition);
}

// google.rpc.Status and its detail types, to decode `grpc-status-details-bin`.
function loadStatusTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    for (const dir of kIncludeDirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return protobuf.util.path.resolve(origin, target);  // the bundled google/protobuf/*
  };
  root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], {keepCase: true});
  return {
    Status: root.lookupType('google.rpc.Status'),
    BadRequest: root.lookupType('google.rpc.BadRequest'),
  };
}

function waitForReady(client) {
  return new Promise((resolve, reject) => {
    client.waitForReady(deadline(), (err) => (err ? reject(err) : resolve()));
  });
}

// unary calls `method` and resolves to {response, trailers}, or rejects with the
// grpc-js ServiceError (whose `metadata` holds the trailers).
function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    let response;
    let failure;
    const call = client[method](request, {deadline: deadline()}, (err, res) => {
      if (err) failure = err;
      response = res;
    });
    call.on('status', (status) => {
      if (failure) {
        reject(failure);
      } else {
        resolve({response, trailers: status.metadata});
      }
    });
  });
}

// expectFailure runs `promise` and returns its error, failing when it succeeded or
// failed with another code than `code`.
async function expectFailure(what, promise, code) {
  try {
    const result = await promise;
    fail(`${what}: expected ${codeName(code)}, got OK ${JSON.stringify(result.response)}`);
  } catch (err) {
    if (err instanceof Unexpected) throw err;
    if (err.code !== code) fail(`${what}: expected ${codeName(code)}, got ${describe(err)}`);
    return err;
  }
  return undefined;
}

function readAll(call) {
  return new Promise((resolve, reject) => {
    const got = [];
    call.on('data', (m) => got.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(got));
  });
}

async function helloworld(address) {
  const services = loadServices();
  const types = loadStatusTypes();
  const client =
      new services.helloworld.v1.Greeter(address, grpc.credentials.createInsecure());
  await waitForReady(client);

  const {response, trailers} = await unary(client, 'SayHello', {name: 'Ada'});
  console.log(`reply: ${response.message}`);
  const greeted = trailers.get('x-greeted');
  if (greeted.length !== 1) fail(`x-greeted: expected one value, got ${greeted.length}`);
  console.log(`trailer: ${greeted[0]}`);

  const john = await expectFailure(
      'SayHello John', unary(client, 'SayHello', {name: 'John'}), grpc.status.INVALID_ARGUMENT);
  console.log(`john: ${codeName(john.code)} ${john.details}`);

  const blank = await expectFailure(
      'SayHello ""', unary(client, 'SayHello', {name: ''}), grpc.status.INVALID_ARGUMENT);
  const raw = blank.metadata.get('grpc-status-details-bin');
  if (raw.length !== 1 || !Buffer.isBuffer(raw[0])) {
    fail(`blank: expected one binary grpc-status-details-bin trailer, got ${raw.length}`);
  }
  const status = types.Status.decode(raw[0]);
  // The details must repeat the status line itself (google.rpc.Status contract).
  expectEqual('blank: details code', status.code, blank.code);
  expectEqual('blank: details message', status.message, blank.details);
  const badRequests =
      status.details.filter((any) => any.type_url.endsWith('/google.rpc.BadRequest'));
  if (badRequests.length !== 1) {
    fail(`blank: expected one google.rpc.BadRequest detail, got type_urls ${
        JSON.stringify(status.details.map((any) => any.type_url))}`);
  }
  const bad = types.BadRequest.decode(badRequests[0].value);
  if (bad.field_violations.length === 0) fail('blank: BadRequest has no field violations');
  for (const v of bad.field_violations) {
    console.log(`blank: ${codeName(blank.code)} ${v.field} ${v.description}`);
  }

  const replies =
      await readAll(client.LotsOfReplies({name: 'Bo', count: 3}, {deadline: deadline()}));
  if (replies.length === 0) fail('LotsOfReplies: no replies');
  console.log(`stream: ${replies.length} ${replies[replies.length - 1].message}`);

  const greeting = await new Promise((resolve, reject) => {
    const call = client.LotsOfGreetings({deadline: deadline()}, (err, res) => {
      if (err) reject(err); else resolve(res);
    });
    for (const name of ['Ada', 'Bo', 'Cy']) call.write({name});
    call.end();
  });
  console.log(`client stream: ${greeting.message}`);

  // Bidi as ping-pong: each name is sent only after the previous reply arrived, so
  // the server must answer while the client's stream is still open.
  const bidi = client.BidiHello({deadline: deadline()});
  const names = ['Ada', 'Bo'];
  const answers = await new Promise((resolve, reject) => {
    const got = [];
    bidi.on('data', (m) => {
      got.push(m.message);
      if (got.length < names.length) {
        bidi.write({name: names[got.length]});
      } else {
        bidi.end();
      }
    });
    bidi.on('error', reject);
    bidi.on('end', () => resolve(got));
    bidi.write({name: names[0]});
  });
  console.log(`bidi: ${answers.length} ${answers.join(' | ')}`);

  // helloworld has no slow method, but BidiHello cannot end before the client
  // half-closes: a stream left open with a 1 ms deadline must end DEADLINE_EXCEEDED
  // (never OK, never a hang), whichever side notices the deadline first.
  const leftOpen = new Promise((resolve, reject) => {
    const call = client.BidiHello({deadline: deadline(1)});
    call.on('data', (m) => reject(new Unexpected(`deadline: a reply ${JSON.stringify(m)}`)));
    call.on('error', reject);
    call.on('end', () => resolve({response: 'the stream ended'}));
  });
  const open = await expectFailure(
      'BidiHello left open, 1 ms deadline', leftOpen, grpc.status.DEADLINE_EXCEEDED);
  console.log(`deadline: ${codeName(open.code)}`);
  client.close();
}

async function blog(address) {
  const services = loadServices();
  const PostController = services.blog.v1.PostController;
  const client = new PostController(address, grpc.credentials.createInsecure());
  await waitForReady(client);

  const created = (await unary(client, 'Create', {title: 'Hello', content: 'World'})).response;
  if (!/^[1-9][0-9]*$/.test(created.id)) fail(`Create: bad id ${JSON.stringify(created.id)}`);
  if (!created.created || created.created.seconds === '0') fail('Create: no created timestamp');
  console.log(`create: ${created.title} ${created.content}`);
  await unary(client, 'Create', {title: 'Second', content: 'about grpc'});

  const retrieved = (await unary(client, 'Retrieve', {id: created.id})).response;
  expectEqual('Retrieve id', retrieved.id, created.id);
  console.log(`retrieve: ${retrieved.title} ${retrieved.content}`);

  const missing = await expectFailure(
      'Retrieve 999', unary(client, 'Retrieve', {id: '999'}), grpc.status.NOT_FOUND);
  console.log(`missing: ${codeName(missing.code)} ${missing.details}`);

  const all = await readAll(client.List({}, {deadline: deadline()}));
  console.log(`list: ${all.length} ${all.map((p) => p.title).join(',')}`);
  const filtered =
      await readAll(client.List({filter: 'content:"grpc"'}, {deadline: deadline()}));
  console.log(`list filter: ${filtered.length} ${filtered.map((p) => p.title).join(',')}`);

  // The mask names only title: the content given beside it must not be written.
  const updated = (await unary(client, 'PartialUpdate', {
                    id: created.id,
                    title: {value: 'Hi'},
                    content: {value: 'not written'},
                    update_mask: {paths: ['title']},
                  })).response;
  console.log(`partial: ${updated.title} ${updated.content}`);
  const reread = (await unary(client, 'Retrieve', {id: created.id})).response;
  expectEqual('Retrieve after PartialUpdate', `${reread.title} ${reread.content}`, 'Hi World');

  // Bytes no protobuf encoder would send (a truncated varint), through a client whose
  // serializer passes them as they are.
  const raw = new grpc.Client(address, grpc.credentials.createInsecure());
  const sent = new Promise((resolve, reject) => {
    const asIs = (bytes) => bytes;
    raw.makeUnaryRequest(
        '/blog.v1.PostController/Create', asIs, asIs, Buffer.from([0x08, 0xff, 0xff]),
        new grpc.Metadata(), {deadline: deadline()},
        (err, res) => (err ? reject(err) : resolve({response: res})));
  });
  const malformed =
      await expectFailure('Create with malformed bytes', sent, grpc.status.INVALID_ARGUMENT);
  if (!malformed.details.includes('is not a valid blog.v1.Post')) {
    fail(`malformed: unexpected message ${JSON.stringify(malformed.details)}`);
  }
  console.log(`malformed: ${codeName(malformed.code)} ${malformed.details}`);
  raw.close();

  const after = await readAll(client.List({}, {deadline: deadline()}));
  expectEqual('posts after the malformed Create', after.length, 2);
  client.close();
}

async function main(argv) {
  if (argv.length === 2 && argv[0] === '--blog') return blog(argv[1]);
  if (argv.length === 1 && !argv[0].startsWith('-')) return helloworld(argv[0]);
  console.error('usage: node client.js [--blog] ADDRESS');
  process.exitCode = 2;
  return undefined;
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof Unexpected) {
    console.error(`client.js: ${err.message}`);
  } else {
    console.error(`client.js: unexpected error: ${describe(err)}`);
    if (err && err.stack) console.error(err.stack);
  }
  process.exitCode = 1;
});
