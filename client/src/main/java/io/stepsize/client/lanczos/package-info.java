/**
 * The trainer-side Lanczos driver (DESIGN.md §1.4, §1.7): m steps of Lanczos on the trainer's own Hessian-vector
 * product ({@link io.stepsize.client.lanczos.Hvp}), started at a random vector or the gradient, giving the probe's
 * alpha and beta; the vectors never leave the trainer. Depends on proto only, like the rest of the client.
 */
package io.stepsize.client.lanczos;
