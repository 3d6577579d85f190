/**
 * The globals that every runtime descent's isomorphic entry supports provides alike (Node ≥ 20,
 * browsers, their workers), declared as the subset the library uses. Only `tsconfig.core.json`
 * reads this file: it type-checks the isomorphic entry with `lib: ["ES2022"]` and no DOM or Node
 * types, so a use of anything outside this list (`process`, `document`, `Buffer`, `node:*`) is a
 * compile error there. The full DOM and Node declarations, which the other configs use, describe
 * the same members.
 */

interface ImportMeta {
  readonly url: string;
}

declare var performance: { now(): number };

declare function atob(data: string): string;

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: ArrayBuffer | ArrayBufferView, options?: { stream?: boolean }): string;
}

declare class URL {
  constructor(url: string | URL, base?: string | URL);
  readonly href: string;
  readonly pathname: string;
  readonly protocol: string;
  toString(): string;
}

type BlobPart = ArrayBuffer | ArrayBufferView | Blob | string;
declare class Blob {
  constructor(parts?: BlobPart[], options?: { type?: string });
  readonly size: number;
  stream(): ReadableStream<Uint8Array>;
  arrayBuffer(): Promise<ArrayBuffer>;
}
interface ReadableWritablePair<R, W> {
  readable: ReadableStream<R>;
  writable: WritableStream<W>;
}
interface ReadableStream<R = unknown> {
  pipeThrough<T>(transform: ReadableWritablePair<T, R>): ReadableStream<T>;
}
/** W is the chunk type written, as in the DOM lib (unused by the library). */
interface WritableStream<W = unknown> {
  readonly locked: boolean;
}
declare class DecompressionStream implements ReadableWritablePair<Uint8Array, BufferSource> {
  constructor(format: 'gzip' | 'deflate' | 'deflate-raw');
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<BufferSource>;
}
type BufferSource = ArrayBufferView | ArrayBuffer;
declare class Response {
  constructor(body?: ReadableStream<Uint8Array> | BufferSource | string | null);
  readonly ok: boolean;
  readonly status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}
declare function fetch(input: string | URL, init?: object): Promise<Response>;

declare namespace WebAssembly {
  class Module {
    constructor(bytes: BufferSource);
  }
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number): number;
  }
  type ExportValue = ((...args: never[]) => unknown) | Memory;
  type Exports = Record<string, ExportValue>;
  type Imports = Record<string, Record<string, unknown>>;
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  function validate(bytes: BufferSource): boolean;
}
