"""Draw an ``AutogradGraph`` as a Graphviz DOT string (rendered in the browser by ``st.graphviz_chart``).

No graphviz package or binary is needed: this module only writes text.
Colours match ``LEGEND`` so the page can explain them. Operation nodes show a gradient only
when their tensor kept one (``retain_grad()``), as ``GraphNode.grad_kept`` records.
"""

from __future__ import annotations

import html

from torchstart.autograd_graph import AutogradGraph, GraphNode, format_value

MAX_LABEL_CHARS = 40
GRAPH_ITEMS = 4  # numbers shown per tensor inside a node

# kind -> (fill, border); the page's legend uses the same names.
COLOURS = {
    "leaf": ("#d3f9d8", "#2b8a3e"),
    "op": ("#dbe4ff", "#364fc7"),
    "internal": ("#f1f3f5", "#868e96"),
    "output": ("#ffe8cc", "#e8590c"),
}
LEGEND = (
    ("green", "leaf tensor", "a variable with requires_grad=True; backward() stores its gradient in .grad"),
    ("blue", "operation", "the grad_fn PyTorch recorded (e.g. MulBackward0), its forward value and the gradient "
                          "flowing through it (kept by retain_grad(), see below)"),
    ("orange", "output", "the tensor you call backward() on; its gradient starts at 1"),
    ("gray", "internal grad_fn", "a step inside one operation (e.g. @ on a vector), with no tensor of its own to show"),
)


def graph_to_dot(graph: AutogradGraph, show_grads: bool = True, title: str = "") -> str:
    """DOT text for the graph, leaves at the top and the output at the bottom, arrows in the forward direction."""
    lines = [
        "digraph autograd {",
        '  rankdir=TB; bgcolor="transparent"; nodesep=0.35; ranksep=0.4;',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, penwidth=1.4];',
        '  edge [color="#868e96", arrowsize=0.7];',
    ]
    if title:
        lines.append(f'  label=<{_text(title)}>; labelloc=t; fontname="Helvetica"; fontsize=12;')
    if not graph.nodes:
        lines.append('  empty [shape=note, style=filled, fillcolor="#fff9db", color="#f08c00", '
                     'label=<<b>No graph</b><br/>grad_fn is None:<br/>nothing was recorded>];')
    for node in graph.nodes:
        lines.append(f"  {node.id} [{_attributes(node, show_grads)}];")
    for src, dst in graph.edges:
        lines.append(f"  {src} -> {dst};")
    lines.append("}")
    return "\n".join(lines)


def _attributes(node: GraphNode, show_grads: bool) -> str:
    """Label and colours of one node."""
    fill, border = COLOURS["output" if node.is_output else node.kind]
    rows = [f"<b>{_text(node.title)}</b>"]
    if node.kind == "leaf":
        rows.append("<i>leaf" + (", output" if node.is_output else "") + "</i>")
    elif node.label:
        rows.append(f"<i>{_text(node.label)}</i>")
    if node.kind == "internal":
        rows.append("<font color='#868e96'>internal step</font>")
    else:
        rows.append(f"value = {_text(format_value(node.value, GRAPH_ITEMS))}")
        if show_grads and node.grad_kept:
            rows.append(f"grad = {_text(format_value(node.grad, GRAPH_ITEMS))}")
    style = '"rounded,filled,dashed"' if node.kind == "internal" else '"rounded,filled"'
    penwidth = 2.4 if node.is_output else 1.4
    return (f'label=<{"<br/>".join(rows)}>, fillcolor="{fill}", color="{border}", '
            f"style={style}, penwidth={penwidth}")


def _text(value: str) -> str:
    """Shortened and escaped for an HTML-like Graphviz label."""
    if len(value) > MAX_LABEL_CHARS:
        value = value[: MAX_LABEL_CHARS - 1] + "…"
    return html.escape(value, quote=True)
