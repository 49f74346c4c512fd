import type { SeededRandom } from './seeded-random.js';

/**
 * Generates malformed requests for the operations of an OpenAPI document:
 * ids that are no uuids or name nothing, wrong methods and content types,
 * truncated or non-object JSON, wrong types and huge numbers in every field,
 * NUL and lone surrogates in every string and key, deep nesting, odd query
 * strings and headers. Each request is malformed by construction; requests
 * that target real rows are only ever refused ones.
 */

export interface Operation {
  method: string;
  /** The OpenAPI path, `{id}` and all. */
  path: string;
  query: string[];
  hasBody: boolean;
  bodyRequired: boolean;
}

export interface FuzzRequest {
  kind: string;
  operation: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

/** Fields whose value may be any JSON: a wrong type or a big number there is no mistake. */
const FREE_FIELDS = new Set(['artifacts', 'metadata', 'gate']);
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const NOT_UUIDS = ['abc', '1', '-1', '%00', '%ED%A0%80', '%F0%9F%98%80', '..%2F..%2Fetc', 'null', '%20', 'a'.repeat(3000), '{id}', '00000000-0000-0000-0000-00000000000g', '3f1c2b9e6a0d4a3e9a532c1f0c7b8d11'];
const ODD_QUERY_VALUES = [
  '99999999999999999999999', '9223372036854775808', '1e400', '-1e400', '-1', '0', '1.5', 'NaN', 'Infinity', '0x10', '',
  '%00', 'a%00b', '%ED%A0%80', '%ED%B0%80', '%', '%zz', '%E2%82', 'a'.repeat(5000), '[]', '{}', 'true', '%F0%9F%98%80',
];
const WRONG_CONTENT_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', 'json', 'text/json', 'application/octet-stream'];
/** Never text/event-stream itself: a stream that follows live never ends, and that is no malformed request. */
const ODD_ACCEPT = ['*/*', 'text/html', 'application/xml', 'text/event-streamx', 'application/json;q=0', 'application/*', ''];
const ODD_HEADER_VALUES = ['-1', '99999999999999999999999', 'abc', '', '1.5', '9223372036854775808', ' 1', '1e3'];
/** Values of every JSON type; a wrong type for a field is one of these of another type. */
const TYPED_VALUES: Json[] = [0, -1, 1.5, 1e308, true, false, null, [], [1, 'a'], {}, { a: 1 }, '', 'x', 'x'.repeat(60_000)];

export class MalformedRequests {
  constructor(
    private readonly random: SeededRandom,
    private readonly fixtures: {
      /** A real row's id for each `{id}` path, so validation meets existing rows too. */
      idFor(path: string): string;
      /** A well-formed body per body operation (`METHOD /path`): the thing each mutation breaks. */
      baseBodies: Record<string, Json>;
    },
  ) {}

  /** One malformed request for `op`; `kind` names what was broken. */
  next(op: Operation): FuzzRequest {
    const key = operationKey(op);
    const kinds: (() => FuzzRequest | null)[] = [
      () => this.withId(op, 'not-uuid-id', this.random.pick(NOT_UUIDS)),
      () => this.withId(op, 'unknown-id', this.random.pick([this.random.uuid(), '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'])),
      () => this.wrongMethod(op),
      () => this.oddQuery(op),
      () => this.oddHeaders(op),
    ];
    if (op.method !== 'get') {
      for (const mutation of Object.keys(BODY_MUTATIONS)) kinds.push(() => this.bodyMutation(op, mutation as BodyMutation));
      // What a body holds is most of what there is to break: weigh it up.
      for (const mutation of Object.keys(PLACED_MUTATIONS)) {
        kinds.push(() => this.placedMutation(op, mutation as PlacedMutation), () => this.placedMutation(op, mutation as PlacedMutation));
      }
    }
    for (let attempt = 0; attempt < 50; attempt++) {
      const request = this.random.pick(kinds)();
      if (request) return request;
    }
    throw new Error(`no malformed request could be made for ${key}`);
  }

  private url(op: Operation, id?: string, query = ''): string {
    return op.path.replace('{id}', id ?? this.fixtures.idFor(op.path)) + query;
  }

  private request(op: Operation, kind: string, parts: Partial<FuzzRequest>): FuzzRequest {
    return { kind, operation: operationKey(op), method: op.method.toUpperCase(), url: this.url(op), headers: {}, ...parts };
  }

  /** The id is what is wrong; a body, where the route takes one, is the well-formed one. */
  private withId(op: Operation, kind: string, id: string): FuzzRequest | null {
    if (!op.path.includes('{id}')) return null;
    const base = this.fixtures.baseBodies[operationKey(op)];
    return this.request(op, kind, {
      url: this.url(op, id),
      ...(base === undefined ? {} : { body: JSON.stringify(base), headers: { 'content-type': 'application/json' } }),
    });
  }

  private wrongMethod(op: Operation): FuzzRequest {
    const method = this.random.pick(METHODS.filter((m) => m !== op.method.toUpperCase() && !(op.method === 'get' && m === 'HEAD')));
    const body = method === 'GET' || method === 'HEAD' ? undefined : '{"summary":"x"}';
    return { ...this.request(op, 'wrong-method', {}), method, ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}) };
  }

  private oddQuery(op: Operation): FuzzRequest {
    const names = [...op.query, 'unknown', 'limit', 'cursor', '%00', 'a[b]'];
    const pairs = Array.from({ length: this.random.int(1, 3) }, () => `${this.random.pick(names)}=${this.random.pick(ODD_QUERY_VALUES)}`);
    // A bare `?`, a repeated key, or a key without a value.
    if (this.random.chance(0.2)) pairs.push(this.random.pick(['', `${this.random.pick(names)}`, '&&', '=']));
    const query = `?${pairs.join('&')}`;
    if (op.method === 'get') return this.request(op, 'odd-query', { url: this.url(op, undefined, query) });
    // A command takes no query: an empty JSON body is what gets it refused, and a bodiless one must name no row.
    return this.request(op, 'odd-query', { url: this.url(op, this.random.pick(NOT_UUIDS), query), headers: { 'content-type': 'application/json' }, body: '' });
  }

  private oddHeaders(op: Operation): FuzzRequest {
    const headers: Record<string, string> = { accept: this.random.pick(ODD_ACCEPT) };
    if (this.random.chance(0.7)) headers['last-event-id'] = this.random.pick(ODD_HEADER_VALUES);
    if (op.method !== 'get') {
      headers['content-type'] = this.random.pick(['application/json', ...WRONG_CONTENT_TYPES]);
      return this.request(op, 'odd-headers', { url: this.url(op, this.random.pick(NOT_UUIDS)), headers, body: '' });
    }
    return this.request(op, 'odd-headers', { headers });
  }

  /** Every placed mutation at every place of the operation's body it applies to, once each. */
  sweep(op: Operation): FuzzRequest[] {
    const base = this.fixtures.baseBodies[operationKey(op)];
    if (base === undefined) return [];
    return Object.entries(PLACED_MUTATIONS).flatMap(([mutation, { applies, apply }]) =>
      positions(base)
        .filter(applies)
        .map((place) => this.request(op, mutation, { body: apply(this.random, base, place), headers: { 'content-type': 'application/json' } })),
    );
  }

  private placedMutation(op: Operation, mutation: PlacedMutation): FuzzRequest | null {
    const base = this.fixtures.baseBodies[operationKey(op)];
    if (base === undefined) return null;
    const { applies, apply } = PLACED_MUTATIONS[mutation];
    const places = positions(base).filter(applies);
    if (places.length === 0) return null;
    return this.request(op, mutation, { body: apply(this.random, base, this.random.pick(places)), headers: { 'content-type': 'application/json' } });
  }

  private bodyMutation(op: Operation, mutation: BodyMutation): FuzzRequest | null {
    const base = this.fixtures.baseBodies[operationKey(op)];
    // A bodiless command on a real row would simply run: what is wrong must be refused before it.
    if (base === undefined && !['wrong-content-type', 'oversized'].includes(mutation)) return null;
    const made = BODY_MUTATIONS[mutation](this.random, base ?? { unexpected: 'body' });
    if (made === null) return null;
    return this.request(op, mutation, { body: made.body, headers: made.contentType === null ? {} : { 'content-type': made.contentType } });
  }
}

export function operationKey(op: Pick<Operation, 'method' | 'path'>): string {
  return `${op.method.toUpperCase()} ${op.path}`;
}

/** The operations of an OpenAPI 3.1 document, with what the fuzzing needs of each. */
export function operationsOf(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method,
      path,
      query: (op.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name as string),
      // A command that takes no arguments documents an empty body (`{}`): it has no body to break field by field.
      hasBody: op.requestBody !== undefined && !isEmptyObjectSchema(op.requestBody.content?.['application/json']?.schema),
      bodyRequired: op.requestBody?.required === true,
    })),
  );
}

type Made = { body: string | Uint8Array; contentType: string | null } | null;
type BodyMutation = keyof typeof BODY_MUTATIONS;
type PlacedMutation = keyof typeof PLACED_MUTATIONS;
interface Place {
  path: Path;
  value: Json;
}

const json = (body: string): Made => ({ body, contentType: 'application/json' });
const RAW = '\u0001RAW\u0001';
/** `base` with the value at `path` replaced by raw JSON text (a number no JS value prints as, a nesting no stringify survives). */
const withRaw = (base: Json, path: Path, raw: string) => JSON.stringify(setAt(base, path, RAW)).replace(JSON.stringify(RAW), raw);
const isFree = (place: Place) => place.path.some((segment) => FREE_FIELDS.has(String(segment)));
const insertAt = (random: SeededRandom, text: string, inserted: string) => {
  const at = random.int(0, text.length);
  return `${text.slice(0, at)}${inserted}${text.slice(at)}`;
};

/**
 * Mutations aimed at one place in a well-formed body. Random requests pick a
 * place; the sweep tries each mutation at every place it applies to.
 */
const PLACED_MUTATIONS = {
  'nul-in-string': {
    applies: (place: Place) => typeof place.value === 'string',
    apply: (random: SeededRandom, base: Json, place: Place) =>
      JSON.stringify(setAt(base, place.path, insertAt(random, place.value as string, random.pick(['\u0000', 'a\u0000', '\u0000\u0000'])))),
  },
  'surrogate-in-string': {
    applies: (place: Place) => typeof place.value === 'string',
    apply: (random: SeededRandom, base: Json, place: Place) =>
      JSON.stringify(
        setAt(base, place.path, insertAt(random, place.value as string, random.pick(['\ud800', '\udbff', '\udc00', '\udfff', '\ude00\ud83d', 'x\ud800y']))),
      ),
  },
  'nul-in-key': {
    applies: (place: Place) => typeof place.path.at(-1) === 'string',
    apply: (random: SeededRandom, base: Json, place: Place) =>
      JSON.stringify(renameKey(base, place.path, `${String(place.path.at(-1))}${random.pick(['\u0000', '\ud800', '\udc00'])}`)),
  },
  'wrong-type': {
    applies: (place: Place) => place.path.length > 0 && !isFree(place),
    apply: (random: SeededRandom, base: Json, place: Place) =>
      JSON.stringify(setAt(base, place.path, random.pick(TYPED_VALUES.filter((v) => jsonType(v) !== jsonType(place.value))))),
  },
  'huge-number': {
    applies: (place: Place) => place.path.length > 0 && !isFree(place) && typeof place.value !== 'object',
    apply: (random: SeededRandom, base: Json, place: Place) =>
      withRaw(base, place.path, random.pick(['99999999999999999999999', '1e400', '-1e400', '1.5', '9007199254740993', '-99999999999999999999999'])),
  },
  'deep-at-field': {
    applies: (place: Place) => place.path.length > 0,
    apply: (random: SeededRandom, base: Json, place: Place) => {
      const depth = random.int(521, 20_000);
      return withRaw(base, place.path, random.chance(0.5) ? '['.repeat(depth) + '"x"' + ']'.repeat(depth) : '{"x":'.repeat(depth) + '"x"' + '}'.repeat(depth));
    },
  },
};

const BODY_MUTATIONS = {
  truncated: (random: SeededRandom, base: Json) => {
    const text = JSON.stringify(base);
    return json(text.slice(0, random.int(0, text.length - 1)));
  },
  empty: () => json(''),
  'not-object': (random: SeededRandom) => json(random.pick(['null', '[]', '"x"', '42', 'true', '[{}]', '{}{}', ' ', 'undefined', "{'a':1}", '{"a":1,}'])),
  'deep-body': (random: SeededRandom) => {
    const depth = random.int(600, 50_000);
    return json(random.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
  },
  'unknown-field': (random: SeededRandom, base: Json) => {
    if (!isObject(base)) return null;
    return json(JSON.stringify({ ...base, [random.pick(['unknown', 'extra_field', '__proto__x', 'id'])]: { nested: [1, 2] } }));
  },
  'wrong-content-type': (random: SeededRandom, base: Json) => {
    // A Uint8Array body carries no content type at all.
    if (random.chance(0.2)) return { body: new TextEncoder().encode(JSON.stringify(base)), contentType: null };
    return { body: JSON.stringify(base), contentType: random.pick(WRONG_CONTENT_TYPES) };
  },
  'invalid-utf8': (random: SeededRandom, base: Json) => {
    const bytes = new TextEncoder().encode(JSON.stringify(base));
    // Bytes that are no UTF-8 where JSON expects structure: never a valid document.
    const structural = [...bytes.keys()].filter((i) => [0x7b, 0x3a, 0x2c].includes(bytes[i]!));
    if (structural.length === 0) return null;
    const at = random.pick(structural);
    const junk = random.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]);
    return { body: new Uint8Array([...bytes.slice(0, at), ...junk, ...bytes.slice(at + 1)]), contentType: 'application/json' };
  },
  oversized: (random: SeededRandom) => json(`{"summary":"${'x'.repeat(random.int(1_050_000, 1_200_000))}"}`),
};

/** Every value in a JSON document with its path, the root included. */
function positions(value: Json, path: Path = []): { path: Path; value: Json }[] {
  const here = [{ path, value }];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => positions(item, [...path, i]))];
  if (isObject(value)) return [...here, ...Object.entries(value).flatMap(([k, v]) => positions(v, [...path, k]))];
  return here;
}

/** A copy of `base` with the key at the end of `path` renamed, its place among its siblings kept. */
function renameKey(base: Json, path: Path, name: string): Json {
  const parentPath = path.slice(0, -1);
  const parent = positions(base).find((p) => p.path.length === parentPath.length && p.path.every((s, i) => s === parentPath[i]))!.value as Record<string, Json>;
  const renamed = Object.fromEntries(Object.entries(parent).map(([k, v]) => [k === path.at(-1) ? name : k, v]));
  return setAt(base, parentPath, renamed);
}

function setAt(base: Json, path: Path, replacement: Json): Json {
  if (path.length === 0) return replacement;
  const copy = structuredClone(base) as Record<string | number, Json>;
  let at = copy;
  for (const segment of path.slice(0, -1)) at = at[segment] as Record<string | number, Json>;
  at[path[path.length - 1]!] = replacement;
  return copy as Json;
}

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: Json): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function isEmptyObjectSchema(schema: any): boolean {
  return schema?.type === 'object' && Object.keys(schema.properties ?? {}).length === 0 && schema.additionalProperties === false;
}
