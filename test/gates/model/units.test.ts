import {
  formatCount,
  formatCountShort,
  formatDuration,
  formatMs,
  formatPercent,
  formatRate,
  parseCount,
  parseDuration,
  parsePercent,
  parseRate,
  UnitError,
} from "../../../src/gates/model/units.js";

describe("durations", () => {
  it("read as milliseconds whatever unit people wrote", () => {
    expect(parseDuration("120ms")).toBe(120);
    expect(parseDuration("2s")).toBe(2000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("250us")).toBe(0.25);
    expect(parseDuration("5min")).toBe(300_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("0ms")).toBe(0);
  });

  it("need a unit: a bare number could be seconds or milliseconds", () => {
    expect(() => parseDuration(120)).toThrow(/has no unit; expected a duration such as/);
    expect(() => parseDuration("120")).toThrow(/has no unit/);
  });

  it("refuse a space between number and unit, giving the compact spelling", () => {
    expect(() => parseDuration("120 ms")).toThrow('"120 ms" contains spaces; expected "120ms"');
  });

  it("refuse unknown units and negatives with what would be right", () => {
    expect(() => parseDuration("120sec")).toThrow(/unknown unit "sec"; expected one of us, µs, ms, s, m, min, h/);
    expect(() => parseDuration("-3ms")).toThrow(/"-3ms" is negative/);
    expect(() => parseDuration("fast")).toThrow(UnitError);
  });
});

describe("percentages", () => {
  it("read as ratios without floating-point noise", () => {
    expect(parsePercent("99.9%")).toBe(0.999);
    expect(parsePercent("0.10%")).toBe(0.001);
    expect(parsePercent("2%")).toBe(0.02);
    expect(parsePercent("100%")).toBe(1);
  });

  it("need the % sign and stay within 0% to 100%", () => {
    expect(() => parsePercent(0.1)).toThrow(/has no % sign/);
    expect(() => parsePercent("0.1")).toThrow(/is not a percentage/);
    expect(() => parsePercent("150%")).toThrow(/"150%" is over 100%/);
    expect(() => parsePercent("-1%")).toThrow(/is negative/);
    expect(() => parsePercent("99.9 %")).toThrow(/expected "99.9%"/);
  });
});

describe("counts", () => {
  it("read k, M, grouping commas and plain numbers", () => {
    expect(parseCount("30k")).toBe(30_000);
    expect(parseCount("1k")).toBe(1000);
    expect(parseCount("1.5k")).toBe(1500);
    expect(parseCount("30000")).toBe(30_000);
    expect(parseCount("30,000")).toBe(30_000);
    expect(parseCount("2M")).toBe(2_000_000);
    expect(parseCount(500)).toBe(500);
  });

  it("must be whole and not negative", () => {
    expect(() => parseCount("1.0005k")).toThrow(/not a whole number/);
    expect(() => parseCount(-5)).toThrow(/is negative/);
    expect(() => parseCount("30q")).toThrow(/is not a count/);
    expect(() => parseCount("3,00")).toThrow(/is not a count/);
  });
});

describe("rates", () => {
  it("read as requests per second", () => {
    expect(parseRate("1000/s")).toBe(1000);
    expect(parseRate("1k/s")).toBe(1000);
    expect(parseRate("1.5k/s")).toBe(1500);
    expect(parseRate("60/min")).toBe(1);
    expect(parseRate("7200/h")).toBe(2);
  });

  it("must be more than zero and per a known unit", () => {
    expect(() => parseRate("0/s")).toThrow(/is not more than 0/);
    expect(() => parseRate("-5/s")).toThrow(/is not more than 0/);
    expect(() => parseRate("1000/day")).toThrow(/unknown unit "\/day"; expected \/s, \/min or \/h/);
    expect(() => parseRate(1000)).toThrow(/has no unit/);
    expect(() => parseRate("1000 / s")).toThrow(/expected "1000\/s"/);
  });
});

describe("formatters", () => {
  it("write milliseconds to a tenth, below 1ms to a hundredth", () => {
    expect(formatMs(18.4)).toBe("18.4ms");
    expect(formatMs(131.234)).toBe("131.2ms");
    expect(formatMs(120)).toBe("120ms");
    expect(formatMs(0.25)).toBe("0.25ms");
  });

  it("never round a share short of 100% up to 100%", () => {
    expect(formatPercent(0.9995)).toBe("99.95%");
    expect(formatPercent(0.001)).toBe("0.10%");
    expect(formatPercent(1)).toBe("100.00%");
    expect(formatPercent(0.99999)).toBe("99.999%");
    expect(formatPercent(0.000001)).toBe("0.0001%");
  });

  it("write counts, rates and spans as the gate file and war room do", () => {
    expect(formatCount(30000)).toBe("30,000");
    expect(formatCountShort(30000)).toBe("30k");
    expect(formatCountShort(1500)).toBe("1.5k");
    expect(formatCountShort(1234)).toBe("1,234");
    expect(formatRate(1000)).toBe("1000/s");
    expect(formatRate(0.5)).toBe("30/min");
    expect(formatDuration(36_000)).toBe("36s");
    expect(formatDuration(65_000)).toBe("1m 5s");
    expect(formatDuration(3_720_000)).toBe("1h 2m");
  });
});
