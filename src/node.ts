/**
 * descent/node — the Node entry: everything of the isomorphic entry (`descent`) and of the wasm
 * backend (`descent/wasm`), plus the file-system data loaders, checkpoint folders, safetensors
 * files and the modelCheckpoint callback that writes them (fs, zlib, process). Importing it starts the fastest backend (`await ready()` below:
 * wasm, one thread per core up to 8, relaxed SIMD — turned on first on Node 20), so a Node program
 * trains at the CLI's speed without a backend call; `setBackend('reference')` switches to the oracle.
 *
 * Every public name is listed; test/package/public-api.json is the snapshot the tests hold it to.
 */
import './backend/wasm/node-flags.js';
import { ready } from './backend/ready.js';
// The two other entries, whose lists are explicit, then the Node-only names.
export * from './index.js';
export * from './wasm.js';
export {
  DEFAULT_FASHION_MNIST_DIR,
  embeddedDataDir,
  FASHION_MNIST_SEARCH_PATH,
  loadEmbedded,
  loadFashionMnist,
  readIdxFile,
  type LoadFashionMnistOptions,
} from './data/node.js';
export {
  CsvColumnsError,
  keepTrainingCategories,
  loadCsv,
  loadCsvRegression,
  loadCsvText,
  MAX_ONE_HOT_CATEGORIES,
  MISSING_CELLS,
  oneHotNames,
  readCsvColumns,
  readCsvTable,
  readCsvTexts,
  TextColumnsError,
  type CsvBatch,
  type CsvClasses,
  type CsvData,
  type CsvRegressionData,
  type CsvTable,
  type CsvTextBatch,
  type CsvTextData,
  type CsvTexts,
  type LoadCsvOptions,
  type LoadCsvRegressionOptions,
  type OneHotColumn,
  type OneHotSpec,
  type ReadCsvColumnsOptions,
  type ReadCsvOptions,
} from './data/csv.js';
export {
  decodeImage,
  IMAGE_EXTENSIONS,
  ImageSizeError,
  listImageFolder,
  loadImageFolders,
  readImageFile,
  type DecodedImage,
  type ImageFolderEntry,
  type ImageFolderListing,
  type LoadImageFoldersOptions,
  type ReadImageOptions,
} from './data/image-folder.js';
export { loadSafetensorsFile, saveSafetensorsFile } from './io/safetensors-node.js';
export { saveOnnxFile } from './io/onnx-node.js';
export { readNpy, readNpz, saveNpy, saveNpz } from './io/npy-node.js';
export { encodeNpz, parseNpz } from './io/npz.js';
export { modelCheckpoint, type ModelCheckpoint, type ModelCheckpointOptions } from './io/model-checkpoint.js';
export {
  checkpointDir,
  checkpointName,
  listCheckpoints,
  loadLatestCheckpoint,
  readCheckpoint,
  type CheckpointDirOptions,
  type LatestCheckpoint,
} from './io/checkpoints.js';

await ready();
