// Decorators such as class-transformer's @Type read metadata while classes are defined; apps load this in main.ts.
import 'reflect-metadata';
