/** The release both binaries report; bumped with package.json. */
export const BERTH_VERSION = "0.1.0";
