// The API reference, rendered from /openapi.json without any CDN asset.
"use strict";
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};
function typeOf(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(" | ");
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.type === "array") return `${typeOf(schema.items)}[]`;
  let text = schema.type || "";
  const bounds = [];
  if (schema.minimum !== undefined) bounds.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) bounds.push(`≤ ${schema.maximum}`);
  if (bounds.length) text += ` (${bounds.join(", ")})`;
  return text;
}
async function main() {
  const spec = await (await fetch("/openapi.json", { credentials: "same-origin" })).json();
  document.getElementById("doc-title").textContent = `${spec.info.title} API ${spec.info.version}`;
  document.getElementById("doc-summary").textContent = spec.info.summary || "";
  const root = document.getElementById("endpoints");
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const box = el("section", "endpoint");
      const head = el("div");
      head.append(el("span", `method ${method}`, method.toUpperCase()), el("span", "path", path));
      box.append(head, el("p", null, [op.summary, op.description].filter(Boolean).join(". ")));
      const params = op.parameters || [];
      if (params.length) {
        const table = el("table", "grid");
        const headRow = el("tr");
        ["parameter", "in", "type", "required"].forEach((h) => headRow.append(el("th", null, h)));
        table.append(headRow);
        params.forEach((p) => {
          const tr = el("tr");
          [p.name, p.in, typeOf(p.schema), p.required ? "yes" : "no"].forEach((v) => tr.append(el("td", "mono", v)));
          table.append(tr);
        });
        box.append(table);
      }
      const body = op.requestBody && op.requestBody.content["application/json"];
      if (body) box.append(el("p", null, `JSON body: ${typeOf(body.schema)}`));
      const ok = op.responses && (op.responses["200"] || op.responses["201"]);
      const schema = ok && ok.content && ok.content["application/json"] && ok.content["application/json"].schema;
      if (schema) box.append(el("p", null, `Returns: ${typeOf(schema)}`));
      root.append(box);
    }
  }
  const schemas = (spec.components && spec.components.schemas) || {};
  root.append(el("h2", null, "Schemas"));
  for (const [name, schema] of Object.entries(schemas)) {
    const box = el("section", "endpoint");
    box.append(el("div", "path", name));
    const table = el("table", "grid");
    Object.entries(schema.properties || {}).forEach(([field, prop]) => {
      const tr = el("tr");
      [field, typeOf(prop), prop.description || ""].forEach((v) => tr.append(el("td", "mono", v)));
      table.append(tr);
    });
    box.append(table);
    root.append(box);
  }
}
main().catch((error) => { document.getElementById("doc-summary").textContent = `cannot load /openapi.json: ${error.message}`; });
