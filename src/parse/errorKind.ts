import type { ErrorKind } from './events.js';

const OOM = /out of memory|OutOfMemoryError|CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|\bOOM\b/i;
const CUDA = /\bCUDA\b|CUBLAS|cuBLAS|CUDNN|cuDNN|\bNCCL\b|cudaError|device-side assert/;

/** Classifies an error message: any CUDA/torch out-of-memory form, other CUDA errors, or anything else. */
export function classifyError(message: string): ErrorKind {
  if (OOM.test(message)) return 'oom';
  if (CUDA.test(message)) return 'cuda';
  return 'error';
}
