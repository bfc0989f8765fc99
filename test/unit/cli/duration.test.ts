import { expect } from "chai";
import { formatDuration, parseDuration } from "../../../runner/util/duration.ts";

describe("durations", () => {
  it("parses scenario durations", () => {
    expect(parseDuration("1m30s")).to.equal(90_000);
    expect(parseDuration("500ms")).to.equal(500);
    expect(() => parseDuration("30 seconds")).to.throw(/invalid duration/);
  });

  it("formats without impossible values at the unit boundaries", () => {
    expect(formatDuration(250)).to.equal("250ms");
    expect(formatDuration(1500)).to.equal("1.5s");
    expect(formatDuration(9_960)).to.equal("10s");
    expect(formatDuration(59_600)).to.equal("1m");
    expect(formatDuration(65_000)).to.equal("1m5s");
    expect(formatDuration(119_600)).to.equal("2m");
  });
});
