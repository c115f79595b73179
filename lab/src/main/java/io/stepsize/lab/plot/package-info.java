/**
 * Learning-rate-versus-step charts of schedules as PNGs ({@code stepsize schedule --plot}). Depends on
 * JFreeChart only; takes each schedule as a function of the step, so it needs no schedule type.
 */
package io.stepsize.lab.plot;
