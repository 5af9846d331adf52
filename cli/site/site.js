// Draws the plotly figures of a lesson page from their JSON specs, with the local plotly bundle.
(function () {
  'use strict';
  var specs = document.querySelectorAll('script.plotly-spec');
  if (!specs.length) return;
  if (!window.Plotly) {
    console.warn('plotly.min.js did not load; figures are not drawn');
    return;
  }
  specs.forEach(function (script) {
    var target = document.getElementById(script.getAttribute('data-for'));
    if (!target) return;
    var fig = JSON.parse(script.textContent);
    var config = Object.assign({ responsive: true, displaylogo: false }, fig.config || {});
    window.Plotly.newPlot(target, fig.data, fig.layout || {}, config);
  });
})();
