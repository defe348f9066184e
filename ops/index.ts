/**
 * @file Every op, one import away. Each family lives in its own file with its forward kernel,
 * backward kernel and recorded wrapper side by side.
 */
export { conv2d, type Conv2dOptions } from './conv.js';
export { batchNorm2d, type BatchNormOptions } from './batchnorm.js';
export { exp, hardsigmoid, log, relu, sigmoid, silu } from './activation.js';
export { maxPool2d, type MaxPoolOptions } from './pool.js';
export { upsampleNearest2x } from './upsample.js';
export { concat, permute, reshape, slice, split } from './shape.js';
export { add, addScalar, div, mul, mulScalar, neg, sub } from './elementwise.js';
export { mean, sum } from './reduce.js';
export { bce, bceWithLogits, l1Loss, type Reduction } from './loss.js';
export { im2col, col2im, outSize, type ConvGeometry } from './im2col.js';
