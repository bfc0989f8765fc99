import { expect } from "chai";
import { formatDuration, parseDuration } from "../../../runner/util/duration.ts";

describe("durations", () => {
  it("parses scenario durations", () => {
    expect(parseDuration("1m30s")).to.equal(90_000);
    expect(parseDuration("500ms")).to.equal(500);
    expect(() => parseDuration("30 seconds")).to.throw(/invalid duration/);
  });

  it("formats without impossible values at the unit boundaries: time is cut, never rounded up", () => {
    expect(formatDuration(250)).to.equal("250ms");
    expect(formatDuration(999.9)).to.equal("999ms");
    expect(formatDuration(1500)).to.equal("1.5s");
    expect(formatDuration(9_960)).to.equal("9.9s");
    expect(formatDuration(59_600)).to.equal("59s");
    expect(formatDuration(60_000)).to.equal("1m");
    expect(formatDuration(65_000)).to.equal("1m5s");
    expect(formatDuration(119_600)).to.equal("1m59s");
    expect(formatDuration(3_720_000)).to.equal("1h2m");
    expect(formatDuration(-1)).to.equal("");
  });

  it("pads for report columns: one format, two layouts", () => {
    expect(formatDuration(60_123, { pad: true })).to.equal("1m00s");
    expect(formatDuration(65_000, { pad: true })).to.equal("1m05s");
    expect(formatDuration(3_720_000, { pad: true })).to.equal("1h02m");
    expect(formatDuration(41_500, { pad: true })).to.equal("41s");
  });
});
