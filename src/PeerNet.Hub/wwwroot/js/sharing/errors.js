// Typed errors of the sharing protocol (docs/sharing.md). Every failure a caller may want to
// tell apart carries a stable `code`; the message explains it in words.

export class SharingError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'SharingError';
    this.code = code;
  }
}

/** A link that is not `https://HUB/#/get/CID[#k=KEY]` (§1): code 'bad-link' or 'missing-key'. */
export class LinkError extends SharingError {
  constructor(code, message) {
    super(code, message);
    this.name = 'LinkError';
  }
}

/** A manifest that breaks a rule of §2: code 'bad-manifest'; `reason` says which rule. */
export class ManifestError extends SharingError {
  constructor(reason, message) {
    super('bad-manifest', message);
    this.name = 'ManifestError';
    this.reason = reason;
  }
}

/** An info block with a field out of range or the wrong CID (§3): code 'bad-info' or 'wrong-content'. */
export class InfoError extends SharingError {
  constructor(code, message) {
    super(code, message);
    this.name = 'InfoError';
  }
}

/** A key that does not open what it should (AES-GCM tag mismatch): code 'wrong-key'. */
export class KeyError extends SharingError {
  constructor(message) {
    super('wrong-key', message);
    this.name = 'KeyError';
  }
}

/**
 * A wire message that breaks §5. `wireCode` is the `error` message's code to answer with
 * (1 protocol, 2 wrong-content, ...); `reason` a short machine-readable cause.
 */
export class WireError extends SharingError {
  constructor(reason, message, wireCode = 1) {
    super('protocol', message);
    this.name = 'WireError';
    this.reason = reason;
    this.wireCode = wireCode;
  }
}
