package io.stepsize.wire;

/** A probe broke one of the rules of {@link ProbeValidation}; the message names the rule. */
public final class InvalidProbeException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public InvalidProbeException(String message) {
        super(message);
    }
}
