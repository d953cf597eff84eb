namespace PeerNet.Stun.NatBehavior;

/// <summary>How one Binding test of a <see cref="NatBehaviorDiscovery"/> ended.</summary>
public enum NatBehaviorTestOutcome : byte
{
    /// <summary>A success response arrived from the expected address.</summary>
    Answered,

    /// <summary>An error response arrived (its code is in the event).</summary>
    ErrorResponse,

    /// <summary>No acceptable response within the test's time (for the filtering tests this is a finding, not a failure).</summary>
    TimedOut,

    /// <summary>No longer needed (filtering test III once test II was answered), or cut by the total time.</summary>
    Abandoned,
}

/// <summary>A test of a <see cref="NatBehaviorDiscovery"/> finished.</summary>
/// <param name="Test">Which test.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Mapped">The mapped address it saw, when answered.</param>
/// <param name="ErrorCode">The STUN error code, for <see cref="NatBehaviorTestOutcome.ErrorResponse"/>.</param>
/// <param name="ElapsedMilliseconds">From the test's first transmission to its end.</param>
public readonly record struct NatBehaviorEvent(NatBehaviorTest Test, NatBehaviorTestOutcome Outcome, StunAddress Mapped = default, int ErrorCode = 0, long ElapsedMilliseconds = 0);
