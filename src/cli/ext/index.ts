/** The train extensions of schedules, penalties, clipping and early stopping, and ensembles (imported for their registration). */
import './schedule.js';
import './regularize.js';
import './stopping.js';
import './ensemble.js';
