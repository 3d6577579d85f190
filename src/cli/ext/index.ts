/** The train extensions of schedules, penalties and ensembles (imported for their registration). */
import './schedule.js';
import './regularize.js';
import './ensemble.js';
