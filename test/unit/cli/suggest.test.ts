import { expect } from "chai";
import { closest } from "../../../runner/util/suggest.ts";

describe("did-you-mean suggestions", () => {
  it("suggests close typos and unique prefixes, nothing for unrelated words", () => {
    expect(closest("tittle", ["title", "points", "hint"])).to.equal("title");
    expect(closest("beebox", ["beebox-cni", "frontend-policy"])).to.equal("beebox-cni");
    expect(closest("fr", ["frontend-policy"])).to.equal(undefined);
    expect(closest("kubernetes", ["title", "points"])).to.equal(undefined);
  });
});
