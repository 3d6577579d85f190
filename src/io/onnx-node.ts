/** Node helper for ONNX files: exportOnnx (./onnx.ts) written to a path atomically (temporary file, fsync, rename). */
import type { Module } from '../nn/module.js';
import { writeFileAtomic } from './files.js';
import { exportOnnx, type ExportOnnxOptions } from './onnx.js';

/** Write `model` to `path` as an ONNX file; nothing is written when the export is refused. */
export function saveOnnxFile(path: string, model: Module, opts: ExportOnnxOptions): void {
  writeFileAtomic(path, exportOnnx(model, opts), 'saveOnnxFile');
}
