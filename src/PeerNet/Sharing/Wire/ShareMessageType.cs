namespace PeerNet.Sharing.Wire;

/// <summary>The first byte of every wire message (docs/sharing.md §5).</summary>
public enum ShareMessageType : byte
{
    /// <summary>First message each way: magic, version, flags, CID, pieceCount, maxRequests.</summary>
    Hello = 0x01,

    /// <summary>Which pieces the sender has: ceil(pieceCount / 8) bytes, bit 7 of byte 0 is piece 0.</summary>
    Bitfield = 0x02,

    /// <summary>The sender completed (verified and stored) one more piece.</summary>
    Have = 0x03,

    /// <summary>Asks for the info block (the other side's hello had flag bit 0).</summary>
    InfoRequest = 0x04,

    /// <summary>A chunk of the info block: totalLength, offset, bytes.</summary>
    Info = 0x05,

    /// <summary>Asks for a whole sealed piece.</summary>
    Request = 0x06,

    /// <summary>The Merkle proof of a requested piece; precedes its blocks.</summary>
    Proof = 0x07,

    /// <summary>A block of a requested sealed piece: piece, offset, bytes.</summary>
    Piece = 0x08,

    /// <summary>Withdraws a request.</summary>
    Cancel = 0x09,

    /// <summary>The uploader will not serve a request.</summary>
    Reject = 0x0A,

    /// <summary>The sender will not serve the receiver's requests; outstanding ones are discarded.</summary>
    Choke = 0x0B,

    /// <summary>The sender will serve the receiver's requests.</summary>
    Unchoke = 0x0C,

    /// <summary>The sender wants pieces the receiver has.</summary>
    Interested = 0x0D,

    /// <summary>The sender no longer wants pieces the receiver has.</summary>
    NotInterested = 0x0E,

    /// <summary>A code and a UTF-8 text; the sender closes the channel after it.</summary>
    Error = 0x0F,
}
