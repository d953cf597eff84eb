namespace PeerNet.Dtls;

/// <summary>What the handshake worker thread is doing.</summary>
internal enum HandshakeWorkerPhase : byte
{
    /// <summary>Not started.</summary>
    NotStarted,

    /// <summary>Processing (computing, sending): the driver waits for it.</summary>
    Running,

    /// <summary>Blocked in Receive, waiting for a datagram or its retransmission timer.</summary>
    Waiting,

    /// <summary>The handshake returned or threw; the thread has ended or is ending.</summary>
    Finished,
}
