/* The appendix table: search, filter, sort and pages over the instance data embedded as JSON. Builds cells with
   textContent only, so no value from the data is ever parsed as markup. Without this script the page still shows the
   first rows as a plain table. */
/* global document */
(function () {
  'use strict';
  var dataEl = document.getElementById('instance-data');
  var table = document.getElementById('instances');
  if (!dataEl || !table) return;
  var data = JSON.parse(dataEl.textContent);
  var cols = data.columns;
  var rows = data.rows;
  var hay = rows.map(function (r) {
    return r.join('\u0001').toLowerCase();
  });
  var statusCol = cols.findIndex(function (c) {
    return c.key === 'status';
  });
  var pageSize = 100;
  var state = { q: '', status: '', sort: -1, dir: 1, page: 0 };
  var tbody = table.tBodies[0];
  var q = document.getElementById('q');
  var sel = document.getElementById('status-filter');
  var prev = document.getElementById('prev');
  var next = document.getElementById('next');
  var info = document.getElementById('page-info');
  var count = document.getElementById('match-count');
  var note = document.getElementById('appendix-note');
  var heads = table.tHead.rows[0].cells;

  function cellNode(col, value) {
    var td = document.createElement('td');
    var text = value === null ? '' : String(value);
    if (col.numeric) td.className = 'n';
    if (col.key === 'status') {
      var s = document.createElement('span');
      s.className = 'st st-' + text;
      s.textContent = text;
      td.appendChild(s);
    } else if (col.key === 'instanceId') {
      var c = document.createElement('code');
      c.textContent = text;
      td.appendChild(c);
    } else if (col.untrusted) {
      var b = document.createElement('bdi');
      b.className = 'u';
      b.textContent = text;
      td.appendChild(b);
    } else {
      td.textContent = col.key === 'imdsv1Calls' && value === null ? 'unknown' : text;
    }
    return td;
  }

  function matching() {
    var needle = state.q.toLowerCase();
    var out = [];
    for (var i = 0; i < rows.length; i++) {
      if (state.status && rows[i][statusCol] !== state.status) continue;
      if (needle && hay[i].indexOf(needle) === -1) continue;
      out.push(i);
    }
    if (state.sort >= 0) {
      var k = state.sort;
      var numeric = cols[k].numeric;
      out.sort(function (a, b) {
        var x = rows[a][k];
        var y = rows[b][k];
        var d;
        if (numeric) d = (x === null ? -1 : x) - (y === null ? -1 : y);
        else d = String(x).localeCompare(String(y));
        return d * state.dir || a - b;
      });
    }
    return out;
  }

  function render() {
    var idx = matching();
    var pages = Math.max(1, Math.ceil(idx.length / pageSize));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * pageSize;
    var frag = document.createDocumentFragment();
    for (var i = start; i < Math.min(idx.length, start + pageSize); i++) {
      var tr = document.createElement('tr');
      var r = rows[idx[i]];
      for (var c = 0; c < cols.length; c++) tr.appendChild(cellNode(cols[c], r[c]));
      frag.appendChild(tr);
    }
    tbody.replaceChildren(frag);
    count.textContent = idx.length + ' of ' + rows.length + ' instance(s) match';
    info.textContent = 'page ' + (state.page + 1) + ' of ' + pages;
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    for (var h = 0; h < heads.length; h++) {
      heads[h].setAttribute('aria-sort', h === state.sort ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  for (var h = 0; h < heads.length; h++) {
    (function (col) {
      var th = heads[col];
      var btn = document.createElement('button');
      btn.type = 'button';
      btn.textContent = th.textContent;
      btn.addEventListener('click', function () {
        if (state.sort === col) state.dir = -state.dir;
        else {
          state.sort = col;
          state.dir = 1;
        }
        render();
      });
      th.replaceChildren(btn);
    })(h);
  }
  q.addEventListener('input', function () {
    state.q = q.value;
    state.page = 0;
    render();
  });
  sel.addEventListener('change', function () {
    state.status = sel.value;
    state.page = 0;
    render();
  });
  prev.addEventListener('click', function () {
    state.page--;
    render();
  });
  next.addEventListener('click', function () {
    state.page++;
    render();
  });
  document.getElementById('table-controls').hidden = false;
  note.textContent =
    rows.length +
    ' instance(s). Search, filter by readiness, or click a column heading to sort. The same list is in instances.csv.';
  render();
  document.documentElement.setAttribute('data-ready', '1');
})();
